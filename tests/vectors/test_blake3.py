"""Official BLAKE3 vectors: hash, keyed hash and derive-key, at the full extended-output length
and at 32 bytes, for every input length in the file (input byte i is i mod 251)."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import hashing
from tests.conftest import load_vectors

VECTORS = load_vectors("blake3/test_vectors.json")
CASES = VECTORS["cases"]


def data(length: int) -> bytes:
    return bytes(index % 251 for index in range(length))


@pytest.mark.parametrize("case", CASES, ids=[f"len{case['input_len']}" for case in CASES])
def test_hash(case: dict[str, Any]) -> None:
    expected = bytes.fromhex(case["hash"])
    message = data(case["input_len"])
    assert hashing.blake3_hash(message, length=len(expected)) == expected
    assert hashing.blake3_hash(message) == expected[:32]


@pytest.mark.parametrize("case", CASES, ids=[f"len{case['input_len']}" for case in CASES])
def test_keyed_hash(case: dict[str, Any]) -> None:
    expected = bytes.fromhex(case["keyed_hash"])
    key = VECTORS["key"].encode()
    message = data(case["input_len"])
    assert hashing.blake3_keyed_hash(key, message, length=len(expected)) == expected
    assert hashing.blake3_keyed_hash(key, message) == expected[:32]


@pytest.mark.parametrize("case", CASES, ids=[f"len{case['input_len']}" for case in CASES])
def test_derive_key(case: dict[str, Any]) -> None:
    expected = bytes.fromhex(case["derive_key"])
    context = VECTORS["context_string"]
    message = data(case["input_len"])
    assert hashing.blake3_derive_key(context, message, length=len(expected)) == expected
    assert hashing.blake3_derive_key(context, message) == expected[:32]
