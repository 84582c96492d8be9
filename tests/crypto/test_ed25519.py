from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.errors import KeyFormatError, VerificationError
from tests.conftest import examples

# Both implementations of the rule, the compiled core and the reference (metanode.core).
pytestmark = pytest.mark.usefixtures("core_choice")

KEY = ed25519.PrivateKey.from_seed(bytes(range(32)))


def test_rfc8032_test_1_known_answer() -> None:
    # RFC 8032 §7.1, TEST 1: the empty message.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = ed25519.PrivateKey.from_seed(seed)
    assert key.public_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


@given(st.binary(max_size=256))
@settings(max_examples=examples(100))
def test_sign_verify_roundtrip(message: bytes) -> None:
    ed25519.verify(KEY.public_key, message, KEY.sign(message))


@given(st.binary(max_size=64), st.integers(0, 63), st.integers(1, 255))
@settings(max_examples=examples(200))
def test_any_changed_signature_byte_fails(message: bytes, position: int, flip: int) -> None:
    signature = bytearray(KEY.sign(message))
    signature[position] ^= flip
    with pytest.raises(VerificationError):
        ed25519.verify(KEY.public_key, message, bytes(signature))


@given(st.binary(max_size=64), st.binary(min_size=1, max_size=64))
@settings(max_examples=examples(100))
def test_changed_message_fails(message: bytes, suffix: bytes) -> None:
    with pytest.raises(VerificationError):
        ed25519.verify(KEY.public_key, message + suffix, KEY.sign(message))


def test_wrong_key_fails() -> None:
    other = ed25519.PrivateKey.generate()
    with pytest.raises(VerificationError):
        ed25519.verify(other.public_key, b"m", KEY.sign(b"m"))


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), "not bytes"])
def test_bad_key_lengths_are_typed(key) -> None:
    with pytest.raises(KeyFormatError):
        ed25519.verify(key, b"m", bytes(64))
    with pytest.raises(KeyFormatError):
        ed25519.PrivateKey.from_seed(key)


@pytest.mark.parametrize("signature", [b"", bytes(63), bytes(65)])
def test_bad_signature_lengths_are_typed(signature: bytes) -> None:
    with pytest.raises(VerificationError):
        ed25519.verify(KEY.public_key, b"m", signature)


def test_many_at_once_matches_one_by_one() -> None:
    items = []
    for index in range(300):
        message = index.to_bytes(4, "big")
        signature = KEY.sign(message)
        if index % 7 == 0:
            signature = bytes(64)
        items.append((KEY.public_key, message, signature))
    items.append((b"short", b"m", bytes(64)))
    expected = [ed25519.is_valid(*item) for item in items[:-1]] + [False]
    assert ed25519.verify_many(items) == expected
