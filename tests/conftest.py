from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
# The shared vectors live beside the clone (../shared/vectors) and are read in place, never copied.
VECTORS_DIR = REPO_ROOT.parent / "shared" / "vectors"

# The run starts hundreds of Python processes (the xdist workers, nodes, CLI commands). Under
# PYTHONDONTWRITEBYTECODE, as in CI's environment, each compiled every module it imported
# from source: 2.2-2.6 s of CPU for a node's imports, against 1.1 s from bytecode (a lone
# node's gateway answered after 7-11 s at load 3.5, 1.1-1.8 s cached). The children write
# their bytecode to a cache of the test run's instead, outside the source tree, as the
# setting intends; this process's workers and everything they start inherit it.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(REPO_ROOT / ".pytest_cache" / "bytecode"))


def load_vectors(relative: str) -> Any:
    path = VECTORS_DIR / relative
    if not path.exists():
        raise FileNotFoundError(
            f"test vectors not found at {path}: clone the project with ../shared beside it"
        )
    return json.loads(path.read_text())


# Hypothesis profiles. The default run (`make test`) draws at most QUICK_EXAMPLES examples of a
# property; `make test-all` passes --hypothesis-profile=thorough, which draws every property's
# full count. Both prove the same properties; only how many inputs they try differs. No deadline:
# the machine is shared, and a slow example is not a failing one.
QUICK_EXAMPLES = 25
QUICK = "quick"
THOROUGH = "thorough"
settings.register_profile(QUICK, max_examples=QUICK_EXAMPLES, deadline=None)
settings.register_profile(THOROUGH, deadline=None)
settings.load_profile(QUICK)


def examples(full: int) -> int:
    """The example count of a property whose full count is `full`: all of them under the
    thorough profile, at most the quick profile's otherwise."""
    if settings.get_current_profile_name() == THOROUGH:
        return full
    return min(full, QUICK_EXAMPLES)


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return VECTORS_DIR


@pytest.fixture(params=["rust", "python"], scope="module")
def core_choice(request: pytest.FixtureRequest) -> Iterator[str]:
    """A module's tests run once on the compiled core and once on the Python reference
    (`metanode.core`); module-scoped so that hypothesis tests may use it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", request.param)
        yield request.param
