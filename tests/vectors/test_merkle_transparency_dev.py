"""Every transparency-dev/merkle proof case: each `wantErr` case is rejected with
VerificationError, every other one accepted (inclusion, consistency, and their subtree forms)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto import merkle
from metanode.errors import VerificationError
from tests.conftest import VECTORS_DIR

ROOT = VECTORS_DIR / "merkle" / "transparency-dev"
FILES = sorted(ROOT.rglob("*.json"))


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def check(kind: str, case: dict[str, Any]) -> None:
    proof = [b64(item) for item in case.get("proof") or []]
    if kind == "inclusion":
        merkle.verify_inclusion(
            b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, b64(case["root"])
        )
    elif kind == "consistency":
        merkle.verify_consistency(
            case["size1"], case["size2"], b64(case["root1"]), b64(case["root2"]), proof
        )
    elif kind == "subtreeinclusion":
        merkle.verify_subtree_inclusion(
            b64(case["leafHash"]),
            case["leafIdx"],
            case["start"],
            case["end"],
            proof,
            b64(case["root"]),
        )
    elif kind == "subtreeconsistency":
        merkle.verify_subtree_consistency(
            case["start"], case["end"], case["size"], b64(case["root1"]), b64(case["root2"]), proof
        )
    else:
        raise AssertionError(f"unknown suite {kind}")


def test_every_suite_is_read() -> None:
    assert len(FILES) >= 500
    kinds = {path.relative_to(ROOT).parts[0] for path in FILES}
    assert kinds == {"inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_transparency_dev_case(path: Path) -> None:
    case = json.loads(path.read_text())
    kind = path.relative_to(ROOT).parts[0]
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            check(kind, case)
    else:
        check(kind, case)
