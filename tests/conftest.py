from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
# The shared vectors live beside the clone (../shared/vectors) and are read in place, never copied.
VECTORS_DIR = REPO_ROOT.parent / "shared" / "vectors"


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
