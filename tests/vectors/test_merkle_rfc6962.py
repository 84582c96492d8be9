"""RFC 6962 reference tree: every root for sizes 0-8, every inclusion and consistency proof."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import merkle
from tests.conftest import load_vectors

TREE = load_vectors("merkle/rfc6962_ct.json")
LEAVES = [bytes.fromhex(item) for item in TREE["leaf_inputs_hex"]]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


@pytest.mark.parametrize("size", sorted(TREE["roots_by_size"], key=int))
def test_root(size: str) -> None:
    assert merkle.root(LEAVES[: int(size)]).hex() == TREE["roots_by_size"][size]


@pytest.mark.parametrize(
    "case", TREE["inclusion"], ids=lambda c: f"{c['leaf_index']}-of-{c['tree_size']}"
)
def test_inclusion(case: dict[str, Any]) -> None:
    size, index = case["tree_size"], case["leaf_index"]
    proof = [bytes.fromhex(item) for item in case["proof"]]
    assert merkle.inclusion_proof(HASHES[:size], index) == proof
    root = bytes.fromhex(TREE["roots_by_size"][str(size)])
    merkle.verify_inclusion(HASHES[index], index, size, proof, root)


@pytest.mark.parametrize(
    "case", TREE["consistency"], ids=lambda c: f"{c['first']}-to-{c['second']}"
)
def test_consistency(case: dict[str, Any]) -> None:
    first, second = case["first"], case["second"]
    proof = [bytes.fromhex(item) for item in case["proof"]]
    assert merkle.consistency_proof(HASHES[:second], first) == proof
    merkle.verify_consistency(
        first,
        second,
        bytes.fromhex(TREE["roots_by_size"][str(first)]),
        bytes.fromhex(TREE["roots_by_size"][str(second)]),
        proof,
    )
