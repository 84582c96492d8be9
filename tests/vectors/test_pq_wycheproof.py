"""Wycheproof ML-DSA-65 verification (FIPS 204) and ML-KEM-768 (FIPS 203): every case."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import pq
from metanode.errors import DecodeError, KeyFormatError, VerificationError
from tests.conftest import load_vectors


def cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    suite = load_vectors(f"wycheproof/{name}.json")
    found = [(group, test) for group in suite["testGroups"] for test in group["tests"]]
    assert len(found) == suite["numberOfTests"]
    return found


MLDSA = cases("mldsa_65_verify_test")
MLKEM = cases("mlkem_768_test")


@pytest.mark.parametrize(("group", "test"), MLDSA, ids=[f"tc{t['tcId']}" for _, t in MLDSA])
def test_mldsa65_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert test["result"] in {"valid", "invalid"}
    key, message, signature = (
        bytes.fromhex(group["publicKey"]),
        bytes.fromhex(test["msg"]),
        bytes.fromhex(test["sig"]),
    )
    context = bytes.fromhex(test.get("ctx", ""))
    if test["result"] == "valid":
        pq.mldsa65_verify(key, message, signature, context)
    else:
        with pytest.raises((VerificationError, KeyFormatError)):
            pq.mldsa65_verify(key, message, signature, context)


@pytest.mark.parametrize(("group", "test"), MLKEM, ids=[f"tc{t['tcId']}" for _, t in MLKEM])
def test_mlkem768(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert test["result"] in {"valid", "invalid"}
    seed, ciphertext = bytes.fromhex(test["seed"]), bytes.fromhex(test["c"])

    def run() -> bytes:
        key = pq.MLKEM768PrivateKey.from_seed(seed)
        if "ek" in test:
            assert key.public_key.hex() == test["ek"]  # key generation from the seed
        return key.decapsulate(ciphertext)

    if test["result"] == "valid":
        assert run().hex() == test["K"]
    else:
        with pytest.raises((KeyFormatError, DecodeError)):
            run()
