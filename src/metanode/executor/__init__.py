"""The executor role of a node: run apps' committed calls in the cage, keep each app's
authenticated state in the executor's own LMDB environment, sign and publish receipts."""
