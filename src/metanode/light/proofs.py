"""Proofs a light client checks against a header it trusts: pure, hashing alone.

- a transaction: its bytes, hashed, are leaf `index` of the RFC 6962 tree under `txs_root`;
- its receipt: the receipt's encoding is the same leaf of the tree under `receipts_root`, and
  names the transaction;
- a state value (an account, say): the authenticated tree's proof of inclusion, or of absence,
  under `state_root` (state/tree.py);
- a notarised execution receipt: its hash is a leaf of a LogBlock's RFC 6962 root, and that
  LogBlock is the value under its notary key in the state under `state_root`, a chain of two
  proofs from the receipt to the header.
Each proof names the height whose header it is for; the caller checks it against that header
and the height it asked for (`check_height`).
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.codec import decode
from metanode.crypto import merkle
from metanode.errors import DecodeError, VerificationError
from metanode.state import tree
from metanode.state.notary import keys as notary_keys
from metanode.types import BlockHeader, LogBlock, Receipt, Transaction

from .reasons import Rejected, Rejection


@dataclass(frozen=True, slots=True)
class MerklePath:
    index: int
    size: int
    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TxProof:
    height: int
    tx: bytes
    inclusion: MerklePath
    receipt: bytes
    receipt_inclusion: MerklePath


@dataclass(frozen=True, slots=True)
class StateProof:
    height: int
    key: bytes
    value: bytes | None
    proof: bytes


@dataclass(frozen=True, slots=True)
class NotarisedProof:
    receipt_hash: bytes
    inclusion: MerklePath
    logblock_key: bytes
    state: StateProof


def check_height(asked: int | None, proof_height: int) -> None:
    if asked is not None and proof_height != asked:
        raise Rejected(
            Rejection.PROOF_WRONG_HEIGHT,
            f"asked for height {asked}, the proof is for height {proof_height}",
        )


def _included(leaf: bytes, where: MerklePath, root: bytes, what: str) -> None:
    try:
        merkle.verify_inclusion(leaf, where.index, where.size, list(where.path), root)
    except VerificationError as error:
        raise Rejected(Rejection.PROOF_INVALID, f"{what}: {error}") from None


def verify_tx(header: BlockHeader, tx_hash: bytes, proof: TxProof) -> tuple[Transaction, Receipt]:
    """The transaction `tx_hash` and its receipt are in the block of `header`."""
    check_height(header.height, proof.height)
    try:
        tx = Transaction.decode(proof.tx)
        receipt = Receipt.decode(proof.receipt)
    except DecodeError as error:
        raise Rejected(Rejection.MALFORMED, f"transaction or receipt: {error}") from None
    if tx.hash() != tx_hash:
        raise Rejected(
            Rejection.PROOF_INVALID, f"the bytes served hash to {tx.hash().hex()}, not the tx"
        )
    _included(tx_hash, proof.inclusion, header.txs_root, "transaction inclusion")
    if receipt.tx_hash != tx_hash or proof.receipt_inclusion.index != proof.inclusion.index:
        raise Rejected(Rejection.PROOF_INVALID, "the receipt served is another transaction's")
    _included(
        merkle.leaf_hash(proof.receipt),
        proof.receipt_inclusion,
        header.receipts_root,
        "receipt inclusion",
    )
    return tx, receipt


def verify_state(header: BlockHeader, proof: StateProof) -> None:
    """`proof.key` holds `proof.value` (None: absent) in the state after `header`'s block."""
    check_height(header.height, proof.height)
    try:
        tree.verify_proof(header.state_root, proof.key, proof.value, proof.proof)
    except VerificationError as error:
        raise Rejected(
            Rejection.PROOF_INVALID, f"state of key {proof.key.hex()}: {error}"
        ) from None


def verify_notarised(header: BlockHeader, proof: NotarisedProof) -> LogBlock:
    """The receipt is a leaf of a LogBlock that the state after `header`'s block holds."""
    verify_state(header, proof.state)
    if proof.state.value is None or proof.state.key != proof.logblock_key:
        raise Rejected(Rejection.PROOF_INVALID, "the state proof is not of the LogBlock's key")
    try:
        stored = decode(proof.state.value)
        if not isinstance(stored, tuple) or len(stored) != 2:
            raise DecodeError("wrong_type", "a stored LogBlock is [height, logblock]")
        logblock = LogBlock.from_wire(stored[1])
    except DecodeError as error:
        raise Rejected(Rejection.MALFORMED, f"stored LogBlock: {error}") from None
    if not proof.logblock_key.startswith(notary_keys.LOGBLOCK + logblock.app_id):
        raise Rejected(Rejection.PROOF_INVALID, "the LogBlock is stored under another app's key")
    index = proof.inclusion.index
    if index >= len(logblock.leaves) or logblock.leaves[index].receipt_hash != proof.receipt_hash:
        raise Rejected(Rejection.PROOF_INVALID, "the LogBlock has no such leaf at that index")
    _included(proof.receipt_hash, proof.inclusion, logblock.root, "receipt in its LogBlock")
    return logblock
