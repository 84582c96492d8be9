"""The compiled core's transaction decoder against the reference: on real encodings and their
mutations, identical transactions, and identical rules and offsets for what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode import _core
from metanode.codec import decode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.address import Address
from metanode.types.messages import Bond, Denom, Transfer
from metanode.types.transaction import Transaction
from tests.conftest import examples

TAGS = sorted(tags.BY_NUMBER)
TX_PREFIX = tags.TX.name_bytes + b"\x00"
TO = Address.from_public_key(bytes(32))


@st.composite
def encodings(draw: st.DrawFn) -> bytes:
    hybrid = draw(st.booleans())
    message = draw(
        st.one_of(
            st.builds(
                Transfer,
                st.just(TO),
                st.integers(0, 2**64 - 1),
                st.sampled_from(list(Denom)),
            ),
            st.builds(Bond, st.just(TO), st.integers(0, 2**64 - 1)),
        )
    )
    signature_bytes = constants.ed25519_signature_bytes
    if hybrid:
        signature_bytes += constants.mldsa65_signature_bytes
    return Transaction(
        draw(st.text(max_size=70)),
        draw(st.binary(min_size=32, max_size=32)),
        draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(0, 2**64 - 1)),
        message,
        draw(st.binary(min_size=signature_bytes, max_size=signature_bytes)),
        bytes(constants.mldsa65_public_key_bytes) if hybrid else None,
    ).encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(encodings()))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if action == "set":
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=3))
        elif action == "delete" and len(data) > 1:
            del data[position]
        else:
            data = data[: position + 1]
    return bytes(data)


def _reference(data: bytes) -> Transaction | DecodeError:
    try:
        return Transaction.decode(data)
    except DecodeError as error:
        return error


def assert_agrees_with_the_reference(items: list[bytes]) -> None:
    """The compiled decoder's verdict on each item is the reference's (the fuzz target in
    tests/fuzz/decode.py checks this too)."""
    for data, fields in zip(items, _core.decode_transactions(items, TAGS, TX_PREFIX), strict=True):
        expected = _reference(data)
        if fields is None:  # an envelope whose message is not a transfer, left to Python
            assert decode(data)[6][0] != Transfer.code
        elif isinstance(expected, DecodeError):
            assert fields == (expected.rule, expected.offset)
        elif isinstance(expected.message, Transfer):
            assert fields == (
                expected.chain_id,
                expected.sender,
                expected.nonce,
                expected.fee,
                expected.expiry_height,
                expected.message.to.raw,
                expected.message.amount,
                int(expected.message.denom),
                expected.pq_public_key,
                expected.signature,
                expected.sender_address.raw,
                tagged_hash(tags.TX, data),
            )
        else:
            raise AssertionError(f"the core did not leave {expected.message} to Python")


@given(st.lists(st.one_of(encodings(), mutated(), st.binary(max_size=40)), max_size=8))
@settings(max_examples=examples(300), deadline=None)
def test_the_compiled_decoder_agrees_with_the_reference(items: list[bytes]) -> None:
    assert_agrees_with_the_reference(items)


@pytest.mark.parametrize("choice", ["rust", "python"])
@given(items=st.lists(st.one_of(encodings(), mutated()), max_size=8))
@settings(max_examples=examples(60), deadline=None)
def test_decode_many_gives_what_decode_gives(choice: str, items: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        results = Transaction.decode_many(items)
    for data, result in zip(items, results, strict=True):
        expected = _reference(data)
        if isinstance(expected, DecodeError):
            assert isinstance(result, DecodeError)
            assert (result.rule, result.offset, result.detail) == (
                expected.rule,
                expected.offset,
                expected.detail,
            )
        else:
            assert result == expected
            assert isinstance(result, Transaction) and result.encoded == data
            assert result.hash() == expected.hash()


@pytest.mark.parametrize("choice", ["rust", "python"])
@given(
    items=st.lists(
        encodings().filter(lambda data: isinstance(_reference(data), Transaction)), max_size=8
    )
)
@settings(max_examples=examples(60), deadline=None)
def test_each_decoded_transactions_hash_is_the_tagged_hash_of_its_bytes(
    choice: str, items: list[bytes]
) -> None:
    """Transfers' hashes come from the core's decoder (`_from_compiled` caches them), other
    messages' from the reference: both are `tagged_hash(TX, bytes)`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        results = Transaction.decode_many(items)
    for data, result in zip(items, results, strict=True):
        assert isinstance(result, Transaction)
        assert result.hash() == tagged_hash(tags.TX, data)
        reference = _reference(data)
        assert isinstance(reference, Transaction) and result.hash() == reference.hash()


def test_past_the_bound_is_refused_before_decoding() -> None:
    data = bytes(constants.logblock_tx_bytes_max + 1)
    assert _core.decode_transactions([data], TAGS, TX_PREFIX) == [("too_long", None)]
