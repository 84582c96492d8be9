from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
