from __future__ import annotations

import json
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
