"""A LogBlock transaction (message 22) has its own size bound, sized for 512 leaves
(issue 17: a notary cuts a LogBlock every 512 receipts); every other message keeps
`tx_bytes_max`. The peer layer still carries such transactions, alone or a block of them."""

from __future__ import annotations

import nacl.signing
import pytest

from metanode.codec import encode
from metanode.errors import DecodeError
from metanode.mempool.pool import Pool
from metanode.mempool.reasons import Reason
from metanode.net import constants as net_constants
from metanode.net.frames import decode_frame, encode_frame, txs_frames
from metanode.types import (
    DeployApp,
    LogBlock,
    LogLeaf,
    SubmitLogBlock,
    Transaction,
    constants,
)
from tests.mempool.test_pool import CHAIN, funded

KEY = nacl.signing.SigningKey(bytes(range(32)))
LARGEST = constants.uint64_max


def leaf(index: int) -> LogLeaf:
    """A leaf at its largest encoding: full hashes (a split-origin receipt's request
    transaction too), every number at uint64's top."""
    digest = index.to_bytes(4, "big") * 8
    return LogLeaf(digest, digest, LARGEST, digest, digest, *[LARGEST] * 5, request_tx=digest)


def logblock(leaves: int) -> LogBlock:
    return LogBlock(
        bytes(32),
        LARGEST,
        LARGEST,
        LARGEST,
        bytes(32),
        tuple(leaf(index) for index in range(leaves)),
        bytes(constants.notary_committee_max // 8),
        bytes(constants.bls_signature_bytes),
    )


def hybrid(message: object) -> bytes:
    """A hybrid transaction's wire form (its ML-DSA key and signature are the largest parts
    of a transaction besides its message); the signature is not checked by decoding."""
    pq_key = bytes(constants.mldsa65_public_key_bytes)
    signature = bytes(constants.ed25519_signature_bytes + constants.mldsa65_signature_bytes)
    unsigned = Transaction(CHAIN, bytes(KEY.verify_key), 0, 1, 1, message, pq_public_key=pq_key)  # type: ignore[arg-type]
    return encode([*unsigned.body_fields(), signature])


def test_a_leaf_encodes_within_its_bound() -> None:
    assert len(encode(leaf(0).to_wire())) == constants.logblock_leaf_bytes_max


def test_a_full_logblock_in_a_hybrid_transaction_fits_its_bound() -> None:
    raw = hybrid(SubmitLogBlock(logblock(constants.logblock_leaves_max)))
    assert constants.tx_bytes_max < len(raw) <= constants.logblock_tx_bytes_max
    assert len(Transaction.decode(raw).message.logblock.leaves) == 512  # type: ignore[attr-defined]


def test_other_messages_keep_the_transaction_bound() -> None:
    module = bytes(constants.app_module_bytes_max)
    raw = hybrid(DeployApp(module, 1, 1, 1))
    assert len(raw) > constants.tx_bytes_max
    with pytest.raises(DecodeError) as refused:
        Transaction.decode(raw)
    assert refused.value.rule == "too_long_for_message"
    with pytest.raises(DecodeError) as past:
        Transaction.decode(bytes(constants.logblock_tx_bytes_max + 1))
    assert past.value.rule == "too_long"


def test_the_pool_refuses_by_the_bound_of_the_message() -> None:
    pool, ledger = Pool(CHAIN), funded()
    oversize = hybrid(DeployApp(bytes(constants.app_module_bytes_max), 1, 1, 1))
    assert pool.admit(oversize, ledger, 1).reason is Reason.TOO_LARGE
    garbage = bytes(constants.logblock_tx_bytes_max + 1)
    assert pool.admit(garbage, ledger, 1).reason is Reason.TOO_LARGE
    full = hybrid(SubmitLogBlock(logblock(constants.logblock_leaves_max)))
    assert pool.admit(full, ledger, 1).reason is not Reason.TOO_LARGE


def test_frames_carry_logblock_transactions() -> None:
    full = hybrid(SubmitLogBlock(logblock(constants.logblock_leaves_max)))
    many = [full] * 100 + [b"x" * 200] * 6_000
    frames = txs_frames(many)
    assert [raw for frame in frames for raw in frame.txs] == many
    for frame in frames:
        data = encode_frame(frame)  # raises past frame_bytes_max
        assert decode_frame(data[net_constants.length_prefix_bytes :]) == frame
    # A block of them: as many as block_bytes_max holds fits a BLOCK frame.
    assert constants.block_bytes_max // len(full) >= 64
    assert constants.block_bytes_max + 64 * 1024 <= net_constants.frame_bytes_max
