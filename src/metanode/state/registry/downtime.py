"""registry downtime: jailing validators that miss too many commits (Cosmos x/slashing's
signed-blocks window).

Rules:
- Block h (h ≥ 2) carries the commit certificate of h - 1, checked at the node's edge against
  the set that signed h - 1 (`staking.queries.validator_set_at`); its signer bitmap names that
  set's members by their position in address order. `on_last_certificate` runs at the start of
  the block, before evidence and transactions (Cosmos's BeginBlocker), over the members in
  address order: nothing is iterated in hash order.
- Each member not already jailed or retired has a window record: how many certificates of its
  set it was counted in, how many of the last `signed_blocks_window` it is missing from, and a
  bitmap of that window (bit `counted % window` is the newest). Once it has been counted a full
  window, more than `missed_blocks_max` misses jail it through the evidence path
  (`rules.punish`: staking's jail, its node record, `downtime_slash_fraction_bps` of every
  delegation) and record the height from which `Unjail` may free it; its window restarts.
  Evidence against a validator jailed for downtime still slashes it, and makes the jail
  permanent (Cosmos tombstones a jailed validator that equivocated alike).
- `Unjail` (a flat ladder: `validator_not_jailed`, `jail_is_permanent` for a jail from
  evidence, `downtime_jail_not_over` before the recorded height) lifts staking's jail, so the
  validator rejoins the set computed at the next epoch boundary, and turns its registry node
  active again; its window starts empty.
- A window whose size governance changed restarts (its bitmap no longer has the right size).
- Which signers a certificate names is the proposer's choice among the commits it saw, as in
  CometBFT: a quorum is enough for a certificate, so a validator slower than the quorum is
  counted as missing; the window's minimum (half, by default) leaves room for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.errors import InvariantViolation, check
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.registry import errors, keys
from metanode.state.registry.records import (
    RegistryParams,
    Status,
    read_node,
    read_params,
    write_node,
)
from metanode.state.registry.rules import punish
from metanode.state.staking import queries as staking_queries
from metanode.state.staking import rules as staking
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, CommitCertificate, Event, Unjail


@dataclass(frozen=True, slots=True)
class SigningWindow:
    counted: int  # certificates of its set this validator was counted in since its window began
    missed: int  # of the last `window` of them, those it is missing from
    bitmap: bytes  # bit `i % window` set: missing from the i-th counted certificate

    @classmethod
    def empty(cls, window: int) -> SigningWindow:
        return cls(0, 0, bytes((window + 7) // 8))

    def record(self, window: int, missed: bool) -> SigningWindow:
        """The window after one more certificate (the oldest bit falls out once it is full)."""
        slot = self.counted % window
        bitmap = bytearray(self.bitmap)
        was = bitmap[slot // 8] >> (slot % 8) & 1
        if missed:
            bitmap[slot // 8] |= 1 << (slot % 8)
        else:
            bitmap[slot // 8] &= ~(1 << (slot % 8)) & 0xFF
        return SigningWindow(self.counted + 1, self.missed - was + int(missed), bytes(bitmap))

    def to_wire(self) -> list[object]:
        return [self.counted, self.missed, self.bitmap]


def read_window(reader: StateReader, address: Address, window: int) -> SigningWindow:
    key = keys.signing(address)
    data = reader.get(key)
    if data is None:
        return SigningWindow.empty(window)
    counted, missed, bitmap = decode_array(data, key, 3)
    check(type(counted) is int and type(missed) is int, f"{key.hex()}: counts are not uints")
    check(type(bitmap) is bytes, f"{key.hex()}: bitmap is not bytes")
    if len(bitmap) != (window + 7) // 8:
        return SigningWindow.empty(window)
    return SigningWindow(counted, missed, bitmap)


def write_window(writer: Overlay, address: Address, window: SigningWindow) -> None:
    ones = sum(bin(byte).count("1") for byte in window.bitmap)
    check(ones == window.missed, "a signing window's missed count matches its bitmap")
    writer.put(keys.signing(address), encode_value(window.to_wire()))


def windows(reader: StateReader) -> tuple[tuple[Address, SigningWindow], ...]:
    """Every window record, in address order (genesis export, invariants)."""
    params = read_params(reader)
    width = len(keys.SIGNING)
    return tuple(
        (
            Address(key[width:]),
            read_window(reader, Address(key[width:]), params.signed_blocks_window),
        )
        for key, _value in reader.scan(keys.SIGNING)
    )


def unjail_height(reader: StateReader, address: Address) -> int | None:
    """The height from which a validator jailed for missed commits may `Unjail`; None for one
    not jailed for downtime (evidence jails for good)."""
    key = keys.downtime_jail(address)
    return None if reader.get(key) is None else read_uint(reader, key)


def on_unjail(writer: Overlay, context: TxContext, message: Unjail) -> int:
    address = context.sender
    if not staking.is_jailed(writer, address):
        return errors.VALIDATOR_NOT_JAILED
    free_from = unjail_height(writer, address)
    if free_from is None:
        return errors.JAIL_IS_PERMANENT
    if context.block.height < free_from:
        return errors.DOWNTIME_JAIL_NOT_OVER
    staking.unjail(writer, context.block, address)
    writer.delete(keys.downtime_jail(address))
    node = read_node(writer, address)
    if node is not None and node.status is Status.JAILED:
        write_node(writer, address, node.with_status(Status.ACTIVE))
    context.events.append(Event("unjailed", (("validator", address.raw),)))
    return OK


def on_last_certificate(
    writer: Overlay, block: BlockContext, certificate: CommitCertificate
) -> None:
    """Count `certificate` (of height block.height - 1) into each member's window; jail those
    past the limit."""
    members = staking_queries.validator_set_at(writer, certificate.height)
    if members is None:
        raise InvariantViolation(f"no validator set recorded for height {certificate.height}")
    params = read_params(writer)
    signed = set(certificate.signer_indexes())
    ordered = sorted(members, key=lambda member: member.address)
    for index, member in enumerate(ordered):
        address = member.address
        if staking.is_jailed(writer, address) or staking.is_retired(writer, address):
            continue
        window = read_window(writer, address, params.signed_blocks_window).record(
            params.signed_blocks_window, index not in signed
        )
        if _is_down(params, window):
            punish(writer, block, address, params.downtime_slash_fraction_bps)
            write_uint(
                writer, keys.downtime_jail(address), block.height + params.downtime_jail_blocks
            )
        else:
            write_window(writer, address, window)


def _is_down(params: RegistryParams, window: SigningWindow) -> bool:
    return (
        window.counted >= params.signed_blocks_window and window.missed > params.missed_blocks_max
    )
