"""Wycheproof HMAC-SHA256, HKDF-SHA256, ChaCha20-Poly1305 and X25519: every case."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import symmetric
from metanode.errors import KeyFormatError, VerificationError
from tests.conftest import load_vectors


def cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    suite = load_vectors(f"wycheproof/{name}.json")
    found = [(group, test) for group in suite["testGroups"] for test in group["tests"]]
    assert len(found) == suite["numberOfTests"]
    return found


def ids(found: list) -> list[str]:
    return [f"tc{test['tcId']}" for _, test in found]


HMAC = cases("hmac_sha256_test")
HKDF = cases("hkdf_sha256_test")
AEAD = cases("chacha20_poly1305_test")
X25519 = cases("x25519_test")


@pytest.mark.parametrize(("group", "test"), HMAC, ids=ids(HMAC))
def test_hmac(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, message, tag = (bytes.fromhex(test[name]) for name in ("key", "msg", "tag"))
    assert len(tag) * 8 == int(group["tagSize"])
    if test["result"] == "valid":
        symmetric.verify_hmac_sha256(key, message, tag)
        assert symmetric.hmac_sha256(key, message)[: len(tag)] == tag
    else:
        with pytest.raises(VerificationError):
            symmetric.verify_hmac_sha256(key, message, tag)


@pytest.mark.parametrize(("group", "test"), HKDF, ids=ids(HKDF))
def test_hkdf(group: dict[str, Any], test: dict[str, Any]) -> None:
    ikm, salt, info = (bytes.fromhex(test[name]) for name in ("ikm", "salt", "info"))
    size = int(test["size"])
    if test["result"] == "valid":
        assert symmetric.hkdf_sha256(ikm, salt, info, size).hex() == test["okm"]
    else:
        with pytest.raises(KeyFormatError):
            symmetric.hkdf_sha256(ikm, salt, info, size)


@pytest.mark.parametrize(("group", "test"), AEAD, ids=ids(AEAD))
def test_chacha20_poly1305(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, nonce, aad, message, ciphertext, tag = (
        bytes.fromhex(test[name]) for name in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    if test["result"] == "valid":
        assert symmetric.seal(key, nonce, message, aad) == ciphertext + tag
        assert symmetric.open_sealed(key, nonce, ciphertext + tag, aad) == message
    else:
        with pytest.raises((VerificationError, KeyFormatError)):
            symmetric.open_sealed(key, nonce, ciphertext + tag, aad)


@pytest.mark.parametrize(("group", "test"), X25519, ids=ids(X25519))
def test_x25519(group: dict[str, Any], test: dict[str, Any]) -> None:
    # Documented choice (crypto/symmetric.py): every `acceptable` case computes the RFC 7748
    # result and is accepted, except an all-zero shared secret, which is refused.
    assert test["result"] in {"valid", "acceptable"}
    private = symmetric.X25519PrivateKey.from_bytes(bytes.fromhex(test["private"]))
    public = bytes.fromhex(test["public"])
    if test["shared"] == "00" * 32:
        with pytest.raises(VerificationError):
            private.exchange(public)
    else:
        assert private.exchange(public).hex() == test["shared"]
