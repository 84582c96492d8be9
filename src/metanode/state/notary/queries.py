"""notary queries: read-only. A receipt's leaf and LogBlock, its RFC 6962 inclusion proof
against the LogBlock's stored root, an app's LogBlocks, disputes, the committee."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from metanode.crypto import merkle
from metanode.errors import InvariantViolation
from metanode.state.notary import keys
from metanode.state.notary.committee import Member, notary_committee
from metanode.state.notary.records import (
    AppTip,
    Dispute,
    Stored,
    read_app_tip,
    read_dispute,
    read_logblock,
    read_receipt_index,
)
from metanode.state.view import StateReader
from metanode.types import LogLeaf


@dataclass(frozen=True, slots=True)
class NotarisedReceipt:
    leaf: LogLeaf
    app_id: bytes
    number: int  # the LogBlock's number among the app's
    index: int  # the leaf's index in it
    height: int  # the block that committed the LogBlock
    logblock_hash: bytes


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 6962 audit path: `merkle.verify_inclusion(receipt_hash, index, tree_size, path,
    root)` holds for it."""

    receipt_hash: bytes
    index: int
    tree_size: int
    path: tuple[bytes, ...]
    root: bytes
    height: int
    app_id: bytes
    number: int


def _find(reader: StateReader, receipt_hash: bytes) -> tuple[Stored, int, int] | None:
    found = read_receipt_index(reader, receipt_hash)
    if found is None:
        return None
    app_id, number, index = found
    stored = read_logblock(reader, app_id, number)
    if stored is None or stored.logblock.leaves[index].receipt_hash != receipt_hash:
        raise InvariantViolation(f"receipt index of {receipt_hash.hex()} names no such leaf")
    return stored, number, index


def receipt(reader: StateReader, receipt_hash: bytes) -> NotarisedReceipt | None:
    found = _find(reader, receipt_hash)
    if found is None:
        return None
    stored, number, index = found
    logblock = stored.logblock
    return NotarisedReceipt(
        logblock.leaves[index], logblock.app_id, number, index, stored.height, logblock.hash()
    )


def inclusion_proof(reader: StateReader, receipt_hash: bytes) -> InclusionProof | None:
    found = _find(reader, receipt_hash)
    if found is None:
        return None
    stored, number, index = found
    hashes = [leaf.receipt_hash for leaf in stored.logblock.leaves]
    return InclusionProof(
        receipt_hash,
        index,
        len(hashes),
        tuple(merkle.inclusion_proof(hashes, index)),
        stored.logblock.root,
        stored.height,
        stored.logblock.app_id,
        number,
    )


def app_tip(reader: StateReader, app_id: bytes) -> AppTip:
    return read_app_tip(reader, app_id)


def logblocks(reader: StateReader, app_id: bytes, start: int = 0) -> Iterator[tuple[int, Stored]]:
    """The app's LogBlocks by number, from `start`."""
    for number in range(start, read_app_tip(reader, app_id).count):
        stored = read_logblock(reader, app_id, number)
        if stored is None:
            raise InvariantViolation(f"LogBlock {number} of app {app_id.hex()} is missing")
        yield number, stored


def dispute(reader: StateReader, app_id: bytes, first_seq: int) -> Dispute | None:
    return read_dispute(reader, app_id, first_seq)


def disputes(reader: StateReader) -> Iterator[Dispute]:
    """Every recorded dispute, by (app, first_seq)."""
    for key, _value in reader.scan(keys.DISPUTE):
        app_id = key[len(keys.DISPUTE) : len(keys.DISPUTE) + 32]
        first_seq = int.from_bytes(key[-8:], "big")
        found = read_dispute(reader, app_id, first_seq)
        if found is None:
            raise InvariantViolation(f"dispute at {key.hex()} vanished during the scan")
        yield found


def committee(reader: StateReader) -> tuple[Member, ...]:
    return notary_committee(reader)
