"""BISO policies: signed, versioned data-handling policies of apps, their evaluation into a
Green, Yellow or Red light, executors' regions and governance's containment of apps."""
