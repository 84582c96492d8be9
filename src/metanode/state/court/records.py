"""court's stored records, each with its encoder and strict decoder (a stored value of the
wrong shape is a bug: `InvariantViolation`).

A dispute has two sides: 0, the defender (the executor whose receipt is challenged, or the
first replica in leaf order), and 1, the challenger (the sender of `OpenDispute`, or the
replica that disagreed). Roots are the app's state roots (docklock.receipt.state_root) after a
call; `lo`..`hi` is the range still disputed: both sides agree on `agreed_root` before call
`lo` and name `posts[side]` after call `hi`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from metanode.errors import check
from metanode.state.context import BlockContext
from metanode.state.court import keys
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants

ZERO = bytes(types_constants.hash_bytes)
DEFENDER, CHALLENGER = 0, 1


class Kind(enum.IntEnum):
    CHALLENGE = 1  # OpenDispute against a receipt in a committed LogBlock, with a bond
    REPLICAS = 2  # the notaries' LogBlock showed replicas disagreeing; the range is withheld


class Status(enum.IntEnum):
    REVEAL = 1  # REPLICAS only: each side shows its receipt of the disputed call
    BISECT = 2  # `mover` posts its turn by `deadline`
    RULING_DUE = 3  # one call left: anyone may ask for the ruling by `deadline`
    DEFENDER_WON = 4
    CHALLENGER_WON = 5
    BOTH_WRONG = 6  # the replay matched neither side
    UNDECIDED = 7  # nobody asked for the ruling, or no side revealed, in time

    @property
    def is_open(self) -> bool:
        return self in (Status.REVEAL, Status.BISECT, Status.RULING_DUE)


@dataclass(frozen=True, slots=True)
class Ruling:
    root: bytes  # the state root the replay left
    step: int  # the witness step where the losing claim diverges
    what: str  # what differs there (docklock.replay's Verdict.what)


@dataclass(frozen=True, slots=True)
class Dispute:
    app_id: bytes
    kind: Kind
    sides: tuple[Address, Address]
    bond: int  # FLX held from the challenger (0 for REPLICAS)
    opened_height: int
    call_seq: int  # the disputed call: the first range's `hi`
    first_seq: int  # REPLICAS: the withheld LogBlock's first call (the notary's dispute key)
    receipts: tuple[bytes, bytes]  # each side's receipt hash of call_seq, ZERO if none
    results: tuple[bytes, bytes]  # each side's receipt's result hash, ZERO if none
    lo: int
    hi: int
    agreed_root: bytes
    posts: tuple[bytes, bytes]
    pending: tuple[bytes, ...]  # the last mover's roots at the points of lo..hi
    mover: int
    deadline: int
    turns: int  # bisection turns played
    status: Status
    ruling: Ruling | None = None

    def to_wire(self) -> list[Any]:
        ruling = None if self.ruling is None else list(_ruling_wire(self.ruling))
        return [
            self.app_id, int(self.kind), [side.raw for side in self.sides], self.bond,
            self.opened_height, self.call_seq, self.first_seq, list(self.receipts),
            list(self.results), self.lo, self.hi, self.agreed_root, list(self.posts),
            list(self.pending), self.mover, self.deadline, self.turns, int(self.status), ruling,
        ]  # fmt: skip


def _ruling_wire(ruling: Ruling) -> tuple[bytes, int, str]:
    return ruling.root, ruling.step, ruling.what


def _uint(value: Any, key: bytes) -> int:
    check(type(value) is int and value >= 0, f"court record at {key.hex()}: not a uint")
    return value  # type: ignore[no-any-return]


def _hashes(value: Any, key: bytes, count: int | None = None) -> tuple[bytes, ...]:
    check(
        type(value) is tuple
        and (count is None or len(value) == count)
        and all(type(item) is bytes and len(item) == types_constants.hash_bytes for item in value),
        f"court record at {key.hex()}: malformed hashes",
    )
    return value  # type: ignore[no-any-return]


def _pair(value: Any, key: bytes) -> tuple[bytes, bytes]:
    first, second = _hashes(value, key, 2)
    return first, second


def decode_dispute(data: bytes, key: bytes) -> Dispute:
    fields = decode_array(data, key, 19)
    (app_id, kind, sides, bond, opened, call_seq, first_seq, receipts, results, lo, hi, agreed,
     posts, pending, mover, deadline, turns, status, ruling) = fields  # fmt: skip
    check(
        type(sides) is tuple
        and len(sides) == 2
        and all(
            type(side) is bytes and len(side) == types_constants.address_bytes for side in sides
        ),
        f"court record at {key.hex()}: malformed sides",
    )
    check(_uint(kind, key) in set(Kind) and _uint(status, key) in set(Status), "court: enums")
    check(_uint(mover, key) in (DEFENDER, CHALLENGER), f"court record at {key.hex()}: mover")
    decoded_ruling = None
    if ruling is not None:
        root, step, what = ruling
        check(type(what) is str, f"court record at {key.hex()}: ruling")
        decoded_ruling = Ruling(_hashes((root,), key, 1)[0], _uint(step, key), what)
    return Dispute(
        _hashes((app_id,), key, 1)[0],
        Kind(kind),
        (Address(sides[0]), Address(sides[1])),
        _uint(bond, key),
        _uint(opened, key),
        _uint(call_seq, key),
        _uint(first_seq, key),
        _pair(receipts, key),
        _pair(results, key),
        _uint(lo, key),
        _uint(hi, key),
        _hashes((agreed,), key, 1)[0],
        _pair(posts, key),
        _hashes(pending, key),
        mover,
        _uint(deadline, key),
        _uint(turns, key),
        Status(status),
        decoded_ruling,
    )


def read_dispute(reader: StateReader, dispute_id: int) -> Dispute | None:
    key = keys.dispute(dispute_id)
    data = reader.get(key)
    return None if data is None else decode_dispute(data, key)


def write_dispute(writer: Overlay, dispute_id: int, dispute: Dispute) -> None:
    writer.put(keys.dispute(dispute_id), encode_value(dispute.to_wire()))


@dataclass(frozen=True, slots=True)
class CallBlock:
    """What a replay of a call included at this height needs from its block: the block time
    and the VRF proof whose output is the calls' block seed (executor/calls.py)."""

    block_time: int
    vrf_proof: bytes


def read_call_block(reader: StateReader, height: int) -> CallBlock | None:
    key = keys.call_block(height)
    data = reader.get(key)
    if data is None:
        return None
    block_time, proof = decode_array(data, key, 2)
    check(type(proof) is bytes, f"court call block at {key.hex()}: malformed proof")
    return CallBlock(_uint(block_time, key), proof)


def write_call_block(writer: Overlay, height: int, block: CallBlock) -> None:
    writer.put(keys.call_block(height), encode_value([block.block_time, block.vrf_proof]))


def note_call_block(writer: Overlay, block: BlockContext) -> None:
    """Keep what a replay of a call included in this block needs: apps' call rule calls it
    (from here, since the court's rules pay through apps and must not be imported by it)."""
    # Every call of the block asks; only the first writes, and the others need not decode it.
    if writer.get(keys.call_block(block.height)) is None:
        write_call_block(writer, block.height, CallBlock(block.timestamp_ms, block.vrf_proof))


def read_id(reader: StateReader, key: bytes) -> int | None:
    found = _uints(reader, key, 1)
    return None if found is None else found[0]


def write_id(writer: Overlay, key: bytes, value: int) -> None:
    writer.put(key, encode_value([value]))


@dataclass(frozen=True, slots=True)
class Clawback:
    """The PoE mint of a receipt proven false: `clawed` NEX burned from its executor, and
    `short` NEX it had already spent, which the court could not take back."""

    clawed: int
    short: int

    @property
    def outcome(self) -> str:
        return "clawed_back" if self.short == 0 else "partly_spent"


def read_clawback(reader: StateReader, receipt_hash: bytes) -> Clawback | None:
    found = _uints(reader, keys.clawback(receipt_hash), 2)
    return None if found is None else Clawback(*found)


def _uints(reader: StateReader, key: bytes, count: int) -> list[int] | None:
    """A stored array of `count` unsigned integers, None if nothing is stored."""
    data = reader.get(key)
    if data is None:
        return None
    return [_uint(value, key) for value in decode_array(data, key, count)]


def write_clawback(writer: Overlay, receipt_hash: bytes, clawback: Clawback) -> None:
    writer.put(keys.clawback(receipt_hash), encode_value([clawback.clawed, clawback.short]))


@dataclass(frozen=True, slots=True)
class AppDisputes:
    """An app's disputes: open, and settled (ruled, or ended by a missed deadline)."""

    open: int = 0
    settled: int = 0


def read_app_disputes(reader: StateReader, app_id: bytes) -> AppDisputes:
    found = _uints(reader, keys.app_counts(app_id), 2)
    return AppDisputes() if found is None else AppDisputes(*found)


def write_app_disputes(writer: Overlay, app_id: bytes, counts: AppDisputes) -> None:
    writer.put(keys.app_counts(app_id), encode_value([counts.open, counts.settled]))
