"""Every Wycheproof BLS suite, with each group's ciphersuite DST passed as the parameter:
PoP-scheme and basic-scheme verification, aggregate verification, and hash-to-G2."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import bls
from metanode.errors import KeyFormatError, VerificationError
from tests.conftest import load_vectors


def cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    suite = load_vectors(f"wycheproof/{name}.json")
    found = [(group, test) for group in suite["testGroups"] for test in group["tests"]]
    assert len(found) == suite["numberOfTests"]
    return found


def ids(found: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    return [f"tc{test['tcId']}" for _, test in found]


VERIFY = cases("bls_sig_g2_basic_verify_test") + cases("bls_sig_g2_pop_verify_test")
AGGREGATE = cases("bls_sig_g2_aggregate_verify_test")
HASH = cases("bls_hash_to_g2_test")


def dst_of(group: dict[str, Any]) -> bytes:
    return group["ciphersuite"].encode()


@pytest.mark.parametrize(
    ("group", "test"),
    VERIFY,
    ids=[f"{g['ciphersuite'][-4:-1]}-{i}" for (g, _), i in zip(VERIFY, ids(VERIFY), strict=True)],
)
def test_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert test["result"] in {"valid", "invalid"}
    public_key = bytes.fromhex(group["publicKey"]["pk"])
    message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    if test["result"] == "valid":
        bls.verify(public_key, message, signature, dst=dst_of(group))
    else:
        with pytest.raises((VerificationError, KeyFormatError)):
            bls.verify(public_key, message, signature, dst=dst_of(group))


@pytest.mark.parametrize(("group", "test"), AGGREGATE, ids=ids(AGGREGATE))
def test_aggregate_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert test["result"] in {"valid", "invalid"}
    keys = [bytes.fromhex(key) for key in test["pubkeys"]]
    messages = [bytes.fromhex(message) for message in test["messages"]]
    signature = bytes.fromhex(test["sig"])

    # The suite is the basic scheme (NUL DST): its rule requires distinct messages.
    def run() -> None:
        bls.aggregate_verify(keys, messages, signature, dst=dst_of(group), distinct_messages=True)

    if test["result"] == "valid":
        run()
    else:
        with pytest.raises((VerificationError, KeyFormatError)):
            run()


@pytest.mark.parametrize(("group", "test"), HASH, ids=ids(HASH))
def test_hash_to_g2(group: dict[str, Any], test: dict[str, Any]) -> None:
    point = bls.hash_to_g2(bytes.fromhex(test["msg"]), group["dst"].encode())
    assert point.to_compressed_bytes().hex() == test["expected"]
