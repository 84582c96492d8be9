"""Which nodes execute an app's calls in an epoch: the one function the executors, the notary
and the gateway ask (so the registry's executor role can take it over without them changing).

Rule: the candidates are the registry's ACTIVE nodes with the executor role, weighted by their
locked stake in whole GEN (a node with less than one GEN has no weight), in address order. Until
there are at least as many weighted candidates as the app's replicas, the candidates are the
current validator set weighted by its power instead (the genesis validators, until sets change;
the issue's rule until enough executors register). Either way only nodes whose declared region
the app's BISO policy allows are candidates (state/policy), so a policy naming regions no
candidate runs in leaves the app without executors, and apps/rules.py refuses its calls.
`replicas` of them are drawn without
replacement, position by position: `draw = tagged_hash(VRF_SEED, "executors" ‖ seed ‖ app_id ‖
epoch ‖ position) mod W`, W the weight not yet drawn, landing on the candidate whose cumulative
weight interval holds it, as the proposer draw does (consensus/validators.py). The label and the
length of the material keep these draws apart from the proposer's, which hashes 40 or 48 bytes.

The seed comes from the chain's VRF: at the end of each block whose height is a multiple of
`staking.epoch_blocks` (the last block of an epoch), `end_block` records the next epoch's
number (the last one + 1, so a change of epoch_blocks never reuses a number) and its seed,
`tagged_hash(VRF_SEED, "executors" ‖ Γ)` with Γ the first 32 bytes of the block's VRF proof
(RFC 9381: the point the VRF output hashes, unique for the proposer's key and input, so a
proposer cannot grind it, unlike the proof's c and s). Epoch 0, before the first such block,
draws from the chain id, as public as the genesis document.

The draw is frozen on first use: an app's first call of an epoch draws its executors from the
state as it stands then and records them (`assign`, keys.assigned), and the call record keeps
the epoch; every later call of the epoch, every executor deciding what to run and the notary
checking a LogBlock read that record, so stake or replica changes inside an epoch take effect
at the next one, and every node agrees on who served which call.

An executor that goes silent is replaced at the next epoch: when a LogBlock commits, the
executors whose receipts it holds are recorded per (app, epoch of the calls) (`note_served`,
keys.served), and the draw of epoch e leaves out the executors drawn for e − 1 that no
committed LogBlock shows serving a call of e − 1 while another replica's receipts were
notarised — as long as the app's replicas can still be drawn from the rest (otherwise the
draw is over every candidate, silent or not). One epoch later it is a candidate again. Its
calls in the meantime are served by the other replicas (docs/notary.md). Epochs are many
blocks (`staking.epoch_blocks`), since each redraw costs the executors drawn anew a catch-up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.apps import keys
from metanode.state.apps.records import read_app
from metanode.state.context import BlockContext
from metanode.state.genesis.chain import read_chain
from metanode.state.policy.queries import may_execute
from metanode.state.registry.queries import node_stake, nodes
from metanode.state.registry.records import Status
from metanode.state.staking.queries import params as staking_params
from metanode.state.staking.queries import validator_set
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Role
from metanode.types import constants as types_constants

_LABEL = b"executors"


def candidates(reader: StateReader, app_id: bytes, replicas: int) -> list[tuple[Address, int]]:
    """(address, weight) in address order, every weight ≥ 1, each in a region the app's
    policy allows (state/policy: a node's declared region)."""
    registered = [
        (address, node_stake(reader, address, record) // constants.base_units_per_coin)
        for address, record in nodes(reader)
        if Role.EXECUTOR in record.roles and record.status is Status.ACTIVE
    ]
    weighted = [
        (address, weight)
        for address, weight in registered
        if weight > 0 and may_execute(reader, app_id, address)
    ]
    if len(weighted) >= replicas:
        return weighted
    return [
        (member.address, member.power)
        for member in validator_set(reader)
        if member.power > 0 and may_execute(reader, app_id, member.address)
    ]


def executors(reader: StateReader, app_id: bytes, epoch: int, seed: bytes) -> list[Address]:
    """The app's executors for `epoch`, in draw order (the first is the primary); fewer than
    its replicas only if fewer candidates exist. Raises InvariantViolation for an unknown app."""
    app = read_app(reader, app_id)
    if app is None:
        raise InvariantViolation(f"executors() of unknown app {app_id.hex()}")
    left = candidates(reader, app_id, app.replicas)
    unheard = silent(reader, app_id, epoch)
    heard = [candidate for candidate in left if candidate[0] not in unheard]
    if len(heard) >= app.replicas:
        left = heard
    weight_left = sum(weight for _address, weight in left)
    drawn: list[Address] = []
    for position in range(min(app.replicas, len(left))):
        material = _LABEL + seed + app_id + epoch.to_bytes(8, "big") + position.to_bytes(8, "big")
        draw = int.from_bytes(tagged_hash(tags.VRF_SEED, material), "big") % weight_left
        slot = _landing(left, draw)
        address, weight = left.pop(slot)
        drawn.append(address)
        weight_left -= weight
    return drawn


def _landing(left: list[tuple[Address, int]], draw: int) -> int:
    for slot, (_address, weight) in enumerate(left):
        if draw < weight:
            return slot
        draw -= weight
    raise InvariantViolation("a draw below the weight left always lands on a candidate")


def silent(reader: StateReader, app_id: bytes, epoch: int) -> frozenset[Address]:
    """The executors drawn for the app's epoch before `epoch` that no committed LogBlock shows
    serving a call of it, once one shows another replica serving; empty before that."""
    if epoch == 0:
        return frozenset()
    served = _addresses(reader, keys.served(app_id, epoch - 1))
    drawn = assigned(reader, app_id, epoch - 1)
    if served is None or drawn is None:
        return frozenset()
    return frozenset(drawn) - frozenset(served)


def note_served(writer: Overlay, app_id: bytes, epoch: int, executors: set[Address]) -> None:
    """Record that a committed LogBlock holds receipts of `executors` for calls of `epoch`."""
    key = keys.served(app_id, epoch)
    known = _addresses(writer, key) or ()
    if executors <= set(known):
        return
    merged = sorted({*known, *executors}, key=lambda address: address.raw)
    writer.put_object(key, _Assigned(tuple(merged)))


def draw_seed(reader: StateReader) -> tuple[int, bytes]:
    """(epoch, seed): the executor draw of every call included now."""
    if type(reader) is Overlay:
        found = reader.get_object(keys.DRAW_SEED, _decode_draw_seed)
    else:
        data = reader.get(keys.DRAW_SEED)
        found = None if data is None else _decode_draw_seed(data, keys.DRAW_SEED)
    if found is None:
        return 0, _first_seed(read_chain(reader).chain_id)
    return found


@functools.lru_cache(maxsize=4)
def _first_seed(chain_id: str) -> bytes:
    """Epoch 0's seed, hashed once: every call included before the first epoch's end reads it
    twice (`current`, then `assign`)."""
    return tagged_hash(tags.VRF_SEED, _LABEL + chain_id.encode())


def _decode_draw_seed(data: bytes, key: bytes) -> tuple[int, bytes]:
    epoch, seed = decode_array(data, key, 2)
    check(
        type(epoch) is int and type(seed) is bytes and len(seed) == types_constants.hash_bytes,
        "apps draw seed: malformed",
    )
    return epoch, seed


def end_block(writer: Overlay, context: BlockContext) -> None:
    if context.height % staking_params(writer).epoch_blocks:
        return
    epoch, _seed = draw_seed(writer)
    gamma = context.vrf_proof[: types_constants.hash_bytes]
    writer.put(
        keys.DRAW_SEED, encode_value([epoch + 1, tagged_hash(tags.VRF_SEED, _LABEL + gamma)])
    )


@dataclass(frozen=True, slots=True)
class _Assigned:
    """An epoch's recorded draw (or its executors that served), as it travels decoded within a
    block (`Overlay.put_object`): each call of the block reads it."""

    executors: tuple[Address, ...]

    def encode(self) -> bytes:
        return encode_value([[address.raw for address in self.executors]])


def _decode_assigned(data: bytes, key: bytes) -> _Assigned:
    (raws,) = decode_array(data, key, 1)
    check(
        type(raws) is tuple and all(type(raw) is bytes for raw in raws),
        f"apps assignment at {key.hex()}: malformed",
    )
    return _Assigned(tuple(Address(raw) for raw in raws))


def assigned(reader: StateReader, app_id: bytes, epoch: int) -> tuple[Address, ...] | None:
    """The executors recorded for the app's calls of `epoch`, None before its first call."""
    return _addresses(reader, keys.assigned(app_id, epoch))


def _addresses(reader: StateReader, key: bytes) -> tuple[Address, ...] | None:
    if type(reader) is Overlay:
        found = reader.get_object(key, _decode_assigned)
    else:
        data = reader.get(key)
        found = None if data is None else _decode_assigned(data, key)
    return None if found is None else found.executors


def assign(writer: Overlay, app_id: bytes, epoch: int, drawn: tuple[Address, ...]) -> None:
    """Record `drawn`, what `current` answered for a call included now, as the app's
    executors of `epoch` if its first call of the epoch is this one. The call's rule asks
    `current` before it writes (a draw of no one refuses the call) and records after, with
    only the escrow's FLX moved between, which no draw reads: the seed and the draw are
    read once a call, not twice (docs/performance.md, "Apps, w25")."""
    key = keys.assigned(app_id, epoch)
    if _addresses(writer, key) is None:
        writer.put_object(key, _Assigned(drawn))


def current(reader: StateReader, app_id: bytes) -> tuple[int, tuple[Address, ...]]:
    """(epoch, executors) of a call included now: the recorded draw, or the draw its first
    call would record (what the gateway and the executors show before that call)."""
    epoch, seed = draw_seed(reader)
    recorded = assigned(reader, app_id, epoch)
    if recorded is not None:
        return epoch, recorded
    return epoch, tuple(executors(reader, app_id, epoch, seed))
