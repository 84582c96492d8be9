"""Ledger types: round-trips, hash stability over the received bytes, strict field checks."""

from __future__ import annotations

import cbor2
import nacl.signing
import pytest
from bech32m import codecs
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import (
    Address,
    Block,
    BlockHeader,
    Bond,
    CallApp,
    CommitCertificate,
    Denom,
    DeployApp,
    Event,
    FaucetClaim,
    Receipt,
    RegisterValidator,
    ScaleApp,
    Transaction,
    Transfer,
    Unbond,
    UpgradeApp,
    UpgradeStoredApp,
)
from metanode.types.block import last_certificate_hash
from tests.conftest import examples

KEY = nacl.signing.SigningKey(bytes(range(32)))
SENDER = bytes(KEY.verify_key)
TO = Address.from_public_key(bytes(32))


def signed(tx: Transaction) -> Transaction:
    return tx.with_signature(KEY.sign(tx.signing_message()).signature)


def transfer(nonce: int = 0, amount: int = 5) -> Transaction:
    return signed(
        Transaction("metanode-dev", SENDER, nonce, 1000, 100, Transfer(TO, amount, Denom.FLX))
    )


UINTS = st.integers(0, 2**64 - 1)
messages = st.one_of(
    st.builds(Transfer, st.just(TO), st.integers(0, 2**64 - 1), st.sampled_from(list(Denom))),
    st.builds(Bond, st.just(TO), st.integers(0, 2**64 - 1)),
    st.builds(Unbond, st.just(TO), st.integers(0, 2**64 - 1)),
    st.builds(RegisterValidator, st.just(bytes(48)), st.just(bytes(96)), st.just(bytes(32))),
    st.builds(FaucetClaim, st.integers(0, 2**64 - 1), st.sampled_from(list(Denom))),
    st.builds(DeployApp, st.binary(max_size=64), UINTS, UINTS, UINTS),
    st.builds(UpgradeApp, st.binary(min_size=32, max_size=32), st.binary(max_size=64)),
    st.builds(
        CallApp,
        st.binary(min_size=32, max_size=32),
        UINTS,
        st.text(max_size=16),
        st.binary(max_size=64),
        UINTS,
    ),
    st.builds(ScaleApp, st.binary(min_size=32, max_size=32), UINTS),
    st.builds(
        UpgradeStoredApp,
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=32, max_size=32),
        UINTS,
        st.binary(min_size=32, max_size=32),
        st.lists(st.text(max_size=16), max_size=4).map(tuple),
    ),
)


@given(messages, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
@settings(max_examples=examples(200))
def test_transaction_roundtrip_and_signature(message, nonce, fee) -> None:
    tx = signed(Transaction("metanode-dev", SENDER, nonce, fee, 7, message))
    again = Transaction.decode(tx.encode())
    assert again == tx
    assert again.hash() == tx.hash()
    # The signed body taken from the received bytes equals the one built from the fields.
    rebuilt = Transaction(
        *[
            getattr(tx, name)
            for name in ("chain_id", "sender", "nonce", "fee", "expiry_height", "message")
        ]
    )
    assert again.signing_message() == rebuilt.signing_message()
    KEY.verify_key.verify(again.signing_message(), again.signature)


def test_transfer_is_small() -> None:
    # bytes_per_transfer (Ledger benchmark) starts with the transaction itself.
    assert len(transfer(nonce=123_456, amount=10**12).encode()) < 170


def test_address_text_roundtrip_and_checksum() -> None:
    text = str(TO)
    assert text.startswith("mn1")
    assert Address.parse(text) == TO
    typo = text[:-1] + ("q" if text[-1] != "q" else "p")
    with pytest.raises(DecodeError, match="checksum"):
        Address.parse(typo)
    with pytest.raises(DecodeError, match="prefix"):
        Address.parse(
            codecs.bech32_encode(
                "xx", bytes(codecs.convertbits(TO.raw, 8, 5)), codecs.Encoding.BECH32M
            )
        )
    with pytest.raises(DecodeError, match="bech32m"):
        Address.parse(
            codecs.bech32_encode(
                "mn", bytes(codecs.convertbits(TO.raw, 8, 5)), codecs.Encoding.BECH32
            )
        )


@pytest.mark.parametrize(
    ("wire", "rule"),
    [
        ([2, "c", SENDER, 0, 0, 0, [1, TO.raw, 1, 3], bytes(64)], "unknown_version"),
        ([1, "c", SENDER[:31], 0, 0, 0, [1, TO.raw, 1, 3], bytes(64)], "wrong_length"),
        ([1, "c", SENDER, -1, 0, 0, [1, TO.raw, 1, 3], bytes(64)], "out_of_range"),
        ([1, "c", SENDER, 0, 0, 0, [99, TO.raw, 1, 3], bytes(64)], "unknown_message"),
        ([1, "c", SENDER, 0, 0, 0, [1, TO.raw, 1, 9], bytes(64)], "unknown_denom"),
        ([1, "c", SENDER, 0, 0, 0, [1, TO.raw, 1], bytes(64)], "wrong_length"),
        ([1, "c", SENDER, 0, 0, 0, [1, TO.raw, 1, 3]], "wrong_length"),
        ([1, 5, SENDER, 0, 0, 0, [1, TO.raw, 1, 3], bytes(64)], "wrong_type"),
        ([1, "c", SENDER, 0, 0, 0, [1, TO.raw, 1, 3], bytes(63)], "wrong_length"),
        ([1, "c" * 65, SENDER, 0, 0, 0, [1, TO.raw, 1, 3], bytes(64)], "too_long"),
        ([1, "c", SENDER, 0, 0, 0, [1, TO.raw, True, 3], bytes(64)], "wrong_type"),
        # Apps: a module past what a transaction may carry, an app id of the wrong length, a
        # function name past its bound.
        ([1, "c", SENDER, 0, 0, 0, [18, bytes(6 * 1024 + 1), 1, 1, 1], bytes(64)], "too_long"),
        ([1, "c", SENDER, 0, 0, 0, [21, bytes(31), 1], bytes(64)], "wrong_length"),
        ([1, "c", SENDER, 0, 0, 0, [20, bytes(32), 0, "f" * 65, b"", 1], bytes(64)], "too_long"),
        ([1, "c", SENDER, 0, 0, 0, [20, bytes(32), 0, "f", b""], bytes(64)], "wrong_length"),
    ],
)
def test_transaction_field_rules(wire, rule) -> None:
    with pytest.raises(DecodeError) as refused:
        Transaction.decode(encode(wire))
    assert refused.value.rule == rule


def test_block_and_header_roundtrip() -> None:
    header = BlockHeader(
        "metanode-dev",
        5,
        1,
        1_700_000_000_000,
        bytes(32),
        bytes([1]) * 32,
        bytes([2]) * 32,
        bytes([3]) * 32,
        bytes([4]) * 32,
        bytes([5]) * 32,
        TO,
        bytes(80),
        bytes([6]) * 32,
    )
    assert BlockHeader.decode(header.encode()) == header
    certificate = CommitCertificate(4, 0, bytes([7]) * 32, b"\x07", bytes(96))
    for last in (None, certificate):
        block = Block(header, (transfer(0), transfer(1)), (b"evidence",), last)
        again = Block.decode(block.encode())
        assert again == block
        assert again.last_certificate == last
        assert again.hash() == header.hash()
        assert [tx.encoded for tx in again.txs] == [tx.encode() for tx in block.txs]


def test_header_commits_to_the_last_certificate() -> None:
    certificate = CommitCertificate(4, 0, bytes(32), b"\x07", bytes(96))
    other = CommitCertificate(4, 0, bytes(32), b"\x0b", bytes(96))
    assert last_certificate_hash(None) == bytes(32)
    assert last_certificate_hash(certificate) == certificate.hash() != other.hash()


def test_certificate_bitmap() -> None:
    bitmap = CommitCertificate.bitmap_for([0, 2, 9], 10)
    certificate = CommitCertificate(3, 0, bytes(32), bitmap, bytes(96))
    assert certificate.signer_indexes() == [0, 2, 9]
    assert CommitCertificate.decode(certificate.encode()) == certificate


def test_receipt_roundtrip() -> None:
    receipt = Receipt(bytes(32), 0, 1000, (Event("transfer", (("amount", b"\x05"),)),))
    assert Receipt.decode(receipt.encode()) == receipt
    assert receipt.ok


@given(st.binary(max_size=300))
@settings(max_examples=examples(500))
def test_hostile_bytes_only_raise_decode_error(data: bytes) -> None:
    for kind in (Transaction, Block, BlockHeader, CommitCertificate, Receipt):
        try:
            kind.decode(data)
        except DecodeError:
            pass


@given(st.data())
@settings(max_examples=examples(500))
def test_mutated_encodings_only_raise_decode_error(data) -> None:
    header = BlockHeader(
        "metanode-dev",
        5,
        1,
        1,
        bytes(32),
        bytes(32),
        bytes(32),
        bytes(32),
        bytes(32),
        bytes(32),
        TO,
        bytes(80),
        bytes(32),
    )
    samples = {
        Transaction: transfer(3).encode(),
        Block: Block(header, (transfer(0),)).encode(),
        Receipt: Receipt(bytes(32), 1, 2, (Event("e", (("k", b"v"),)),)).encode(),
    }
    kind = data.draw(st.sampled_from(list(samples)))
    mutated = bytearray(samples[kind])
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    try:
        kind.decode(bytes(mutated))
    except DecodeError:
        pass


def general_decode(data: bytes) -> Transaction | str:
    """The transaction decoder's general way (the codec's strict decode, then the fields):
    the result, or the rule it refused by."""
    try:
        return Transaction.from_wire(decode(data), data)
    except DecodeError as error:
        return error.rule


def typed_decode(data: bytes) -> Transaction | str:
    try:
        return Transaction.decode(data)
    except DecodeError as error:
        return error.rule


# Inputs cbor2 reads and the plain encoder writes back byte for byte, but the codec refuses
# (or whose fields are not a transaction's): each must be refused by both ways alike.
_FIELDS = [1, "metanode-dev", SENDER, 3, 1000, 100, [1, TO.raw, 5, 3], bytes(64)]
_NOT_DETERMINISTIC = [
    cbor2.dumps([*_FIELDS[:3], 3.0, *_FIELDS[4:]]),  # a float nonce
    cbor2.dumps([*_FIELDS[:6], {1: TO.raw, 0: 5}, _FIELDS[7]]),  # a map, keys out of order
    cbor2.dumps([*_FIELDS[:3], cbor2.CBORTag(2, b"\x03"), *_FIELDS[4:]]),  # a bignum tag
    cbor2.dumps([*_FIELDS[:3], True, *_FIELDS[4:]]),  # a boolean nonce
    cbor2.dumps(_FIELDS) + b"\x00",  # trailing bytes
    cbor2.dumps(_FIELDS).replace(b"\x03\x19\x03\xe8", b"\x18\x03\x19\x03\xe8", 1),  # long head
]


@given(st.data())
@settings(max_examples=examples(1000))
def test_typed_decoding_accepts_what_the_general_way_accepts_and_nothing_else(data) -> None:
    sample = bytearray(
        data.draw(
            st.sampled_from([transfer(3).encode(), transfer(2**40, 2**63).encode()])
            | st.sampled_from(_NOT_DETERMINISTIC)
        )
    )
    for _ in range(data.draw(st.integers(0, 3))):
        position = data.draw(st.integers(0, len(sample) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            sample[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            sample.insert(position, data.draw(st.integers(0, 255)))
        elif len(sample) > 1:
            del sample[position]
    assert typed_decode(bytes(sample)) == general_decode(bytes(sample))


def test_the_not_deterministic_samples_are_refused() -> None:
    assert cbor2.loads(_NOT_DETERMINISTIC[-1])[3] == 3  # the long head still reads as 3
    for sample in _NOT_DETERMINISTIC:
        assert isinstance(typed_decode(sample), str), sample.hex()
