"""Which implementation runs the per-transaction path: the compiled core or the reference.

The compiled core is `metanode._core`, built from rust/ by maturin when `uv sync` (`make setup`)
installs the package. The Python code beside it stays the reference: `METANODE_CORE=python`
selects it (debugging, the differential tests); unset or `rust` selects the compiled core. Both
apply the same rules, so no consensus result depends on which one runs (docs/performance.md,
"The compiled core").
"""

from __future__ import annotations

import os
from types import ModuleType

from metanode.errors import ConfigError, NotBuiltError

try:
    from metanode import _core as _compiled
except ImportError:  # not built: every use says so below, unless the reference is selected
    _compiled = None

ENVIRONMENT = "METANODE_CORE"


def native() -> ModuleType | None:
    """The compiled core, or None when METANODE_CORE=python selects the reference."""
    choice = os.environ.get(ENVIRONMENT, "rust")
    if choice == "python":
        return None
    if choice != "rust":
        raise ConfigError(f"{ENVIRONMENT}={choice!r}: expected 'rust' or 'python'")
    if _compiled is None:
        raise NotBuiltError(
            "metanode._core is not built: run `make setup` (uv sync builds rust/ with cargo), "
            f"or set {ENVIRONMENT}=python for the reference"
        )
    return _compiled
