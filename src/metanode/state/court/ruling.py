"""The one-step ruling (message 27): every validator replays the single disputed call in the
DockLock cage, as part of the state machine.

What the replay is given, all from the chain or checked against it: the module of the call's
version (the app registry; for a module deployed from relay storage, the bytes the message
carries, checked against the module's BLAKE3 hash: the chain holds the hash, not the bytes),
the call's function and input (its call record), its block time and seed (the block that
included it, keys.call_block; the seed as `executor.calls.call_seed` makes it), the app's
state before the call at the keys the call touches, as the message's reads prove them against
the agreed root (`docklock.appstate.ProvenState`: a read or write of any other key stops the
replay, `read_unproven`), and `min(call fuel limit, replay_fuel_max)` fuel. A call that runs
out of it with more left in its own limit cannot be judged here (`replay_fuel_exceeded`). The
root after the call comes from the reads' multiproof with the call's writes applied
(`state.multiproof`), so the app's size does not bound what is judged.

A side matches if its root after the call is the replay's; on the disputed call itself, where
a side's receipt is known, its whole result (root, output, outcome, fuel) must match, so a
wrong output with a right root loses too. The ruling records the replay's root and the witness
step where the losing claim diverges: `docklock.replay` over the loser's receipt and witness
when the message brings them as evidence, else the end of the run, where the roots differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metanode.codec import decode, encode
from metanode.crypto import vrf
from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage, replay
from metanode.docklock.appstate import (
    AppState,
    ProvenState,
    ReadsError,
    Unproven,
    prove_keys,
    state_root,
)
from metanode.docklock.receipt import Bundle, Receipt, call_seed, result_hash
from metanode.docklock.witness import Record
from metanode.errors import DecodeError, InvariantViolation, VerificationError, check
from metanode.state.apps import queries as apps
from metanode.state.apps.records import CallRecord, read_call, read_version
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.court import errors
from metanode.state.court.consequences import finish
from metanode.state.court.params import read_params
from metanode.state.court.records import (
    CHALLENGER,
    DEFENDER,
    ZERO,
    Dispute,
    Ruling,
    Status,
    read_call_block,
)
from metanode.state.court.rules import staged
from metanode.state.multiproof import Incomplete
from metanode.state.storage import errors as storage_errors
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Event, RuleDispute
from metanode.types import constants as types_constants
from metanode.types.fields import expect_array, expect_bytes

_READS_REFUSED = {
    "malformed": errors.READS_MALFORMED,
    "root": errors.STATE_MISMATCH,
    "value": errors.READS_NOT_PROVEN,
}
_OUTCOMES = {
    (True, False): Status.DEFENDER_WON,
    (False, True): Status.CHALLENGER_WON,
    (False, False): Status.BOTH_WRONG,
}


def on_rule_dispute(writer: Overlay, context: TxContext, message: RuleDispute) -> int:
    code, dispute = staged(writer, message.dispute_id, Status.RULING_DUE)
    if dispute is None:
        return code
    try:
        state = ProvenState.check(dispute.agreed_root, message.reads)
    except ReadsError as error:
        return _READS_REFUSED[error.reason]
    except Incomplete:
        return errors.PROOF_INCOMPLETE
    evidence = evidence_of(message.evidence)
    if evidence is None:
        return errors.EVIDENCE_INVALID
    judged = rule(writer, dispute, state, evidence, message.module)
    if isinstance(judged, int):
        return judged
    status, ruling = judged
    finish(writer, context.block, message.dispute_id, dispute, status, ruling)
    context.events.append(
        Event(
            "court_dispute_ruled",
            (
                ("dispute", message.dispute_id.to_bytes(8, "big")),
                ("outcome", status.name.lower().encode()),
                ("step", ruling.step.to_bytes(8, "big")),
            ),
        )
    )
    return OK


def _matches(dispute: Dispute, side: int, root: bytes, result: bytes) -> bool:
    known = dispute.results[side]
    if dispute.lo == dispute.call_seq and known != ZERO:
        return known == result
    return dispute.posts[side] == root


def rule(
    reader: StateReader,
    dispute: Dispute,
    state: AppState,
    evidence: Evidence,
    module: bytes = b"",
) -> tuple[Status, Ruling] | int:
    """The ruling on the dispute's one call from the state before it (whose root the caller
    checked), or the code refusing it. `module`: the call's module when it was deployed from
    relay storage, which must hash to it (`storage.module_not_supplied`). A node calls it too, to
    know before asking which side the chain will find for and whether a peer's evidence will
    be taken."""
    context_of = _replayable(reader, dispute, module)
    if isinstance(context_of, int):
        return context_of
    call = context_of.call
    fuel = _fuel(reader, call)
    try:
        run = context_of.run(state, fuel)
        if run.outcome == "out_of_fuel" and fuel < call.fuel_limit:
            return errors.REPLAY_FUEL_EXCEEDED
        replayed = Replayed(
            context_of.module, call.input, state, context_of.seed, context_of.block_time, run
        )
        judged = judge(dispute, replayed, evidence)
    except Unproven:
        return errors.READ_UNPROVEN
    except Incomplete:
        return errors.PROOF_INCOMPLETE
    return errors.EVIDENCE_INVALID if judged is None else judged


def _replayable(reader: StateReader, dispute: Dispute, module: bytes) -> CallContext | int:
    """The disputed call's context with its module at hand, or the code refusing the replay."""
    context_of = call_context(reader, dispute.app_id, dispute.lo, module)
    if isinstance(context_of, int):
        return context_of
    if context_of.module is None:
        return storage_errors.MODULE_NOT_SUPPLIED
    return context_of


def _fuel(reader: StateReader, call: CallRecord) -> int:
    return min(call.fuel_limit, read_params(reader).replay_fuel_max)


def reads_for(
    reader: StateReader, dispute: Dispute, state: dict[bytes, bytes], module: bytes = b""
) -> bytes | int:
    """A ruling's reads (`RuleDispute.reads`) from the app's whole state before the disputed
    call: the keys the court's replay of it touches, learnt by running it as the court will
    (`module` as for `rule`), with their proof; or `call_not_replayable` or
    `storage.module_not_supplied`. Off the block path (a node asking)."""
    context_of = _replayable(reader, dispute, module)
    if isinstance(context_of, int):
        return context_of
    whole = ProvenState.whole(state)
    context_of.run(whole, _fuel(reader, context_of.call))
    return prove_keys(state, whole.touched)


def evidence_bytes(receipt: Receipt, witness: Sequence[Record]) -> bytes:
    """A receipt and its witness as a ruling's evidence (what `evidence_of` reads)."""
    return encode([receipt.to_wire(), [record.encode() for record in witness]])


def evidence_of(data: bytes) -> Evidence | None:
    """[] for none, [(receipt, witness)] for well-formed evidence, None for malformed."""
    if not data:
        return []
    try:
        receipt, records = expect_array(decode(data), "evidence", 2)
        if not isinstance(records, tuple):
            raise DecodeError("wrong_type", "evidence witness must be an array")
        witness = [Record.decode(expect_bytes(record, "witness record")) for record in records]
        return [(Receipt.from_wire(receipt), witness)]
    except DecodeError:
        return None


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the chain fixes about a call, all a replay of it needs besides the state. `module`
    is None for a module deployed from relay storage whose bytes were not supplied (or are not
    the module's): the chain holds its hash, not its bytes."""

    module: bytes | None
    call: CallRecord
    block_time: int
    seed: bytes

    def run(self, state: AppState, fuel: int) -> cage.Execution:
        call = self.call
        check(self.module is not None, "a replay is given the call's module")
        return cage.run(
            self.module or b"",
            call.function,
            call.input,
            state,
            block_time=self.block_time,
            seed=self.seed,
            fuel=fuel,
        )


def call_context(
    reader: StateReader, app_id: bytes, seq: int, supplied: bytes = b""
) -> CallContext | int:
    """The call's module, record, block time and seed, or `call_not_replayable`. A module
    deployed from relay storage is `supplied`, checked against its hash (`apps.module_of`)."""
    call = read_call(reader, app_id, seq)
    if call is None:
        raise InvariantViolation(f"disputed call {seq} of {app_id.hex()} is gone")
    version = read_version(reader, app_id, call.version)
    if version is None:
        raise InvariantViolation(f"version {call.version} of a call is gone")
    module = apps.module_of(reader, version.module_hash, supplied)
    if module is None and not apps.is_stored(reader, version.module_hash):
        raise InvariantViolation(f"the module of version {call.version} of a call is gone")
    block = read_call_block(reader, call.height)
    if block is None:
        return errors.CALL_NOT_REPLAYABLE
    try:
        block_seed = vrf.proof_to_hash(block.vrf_proof)[: types_constants.hash_bytes]
    except VerificationError:
        return errors.CALL_NOT_REPLAYABLE
    seed = call_seed(block_seed, app_id, call.version, seq)
    return CallContext(module, call, block.block_time, seed)


def state_before(
    reader: StateReader, app_id: bytes, seq: int, supplied: Mapping[int, bytes] | None = None
) -> dict[bytes, bytes] | None:
    """The app's state before call `seq`, recomputed from the chain alone by running its
    calls 0 … seq − 1 (a side asking for a ruling proves its reads from it), the modules of
    versions deployed from relay storage taken from `supplied` (by version); None if one of
    them cannot be replayed. Off the block path: it runs `seq` calls."""
    state: dict[bytes, bytes] = {}
    modules = supplied or {}
    for earlier in range(seq):
        call = read_call(reader, app_id, earlier)
        version = b"" if call is None else modules.get(call.version, b"")
        context_of = call_context(reader, app_id, earlier, version)
        if isinstance(context_of, int) or context_of.module is None:
            return None
        state = context_of.run(state, context_of.call.fuel_limit).state_after
    return state


def carried_module(
    reader: StateReader, app_id: bytes, seq: int, supplied: Mapping[int, bytes]
) -> bytes:
    """What a ruling on call `seq` carries as its module (`RuleDispute.module`): the bytes of
    its version from `supplied` when that version was deployed from relay storage, else
    nothing."""
    call = read_call(reader, app_id, seq)
    version = None if call is None else read_version(reader, app_id, call.version)
    if call is None or version is None or not apps.is_stored(reader, version.module_hash):
        return b""
    return supplied.get(call.version, b"")


@dataclass(frozen=True, slots=True)
class Replayed:
    """The disputed call as the court ran it: what it was given, and the run."""

    module: bytes
    input: bytes
    state: AppState
    seed: bytes
    block_time: int
    run: cage.Execution


Evidence = list[tuple[Receipt, list[Record]]]


def judge(dispute: Dispute, replayed: Replayed, evidence: Evidence) -> tuple[Status, Ruling] | None:
    """Which side the replay matches, and where the losing claim diverges; None if the
    evidence is not the loser's receipt of this call. Pure: a function of its arguments alone
    (tests/state/test_court.py runs it in two processes and compares)."""
    run = replayed.run
    root = state_root(run.state_after)
    result = result_hash(root, blake3_hash(run.output), run.outcome, run.fuel_used)
    matches = tuple(_matches(dispute, side, root, result) for side in (DEFENDER, CHALLENGER))
    check(matches != (True, True), "two sides that disagree cannot both match one replay")
    status = _OUTCOMES[(matches[0], matches[1])]
    loser = DEFENDER if not matches[DEFENDER] else CHALLENGER
    if not evidence:
        return status, Ruling(root, len(run.witness), "state root after")
    receipt, witness = evidence[0]
    known = dispute.receipts[loser] if dispute.lo == dispute.call_seq else ZERO
    if (
        Address.from_public_key(receipt.executor) != dispute.sides[loser]
        or receipt.state_root_after != dispute.posts[loser]
        or known not in (ZERO, receipt.hash())
    ):
        return None
    bundle = Bundle(receipt, replayed.module, replayed.input, replayed.state, witness, run.output)
    verdict = replay.replay(bundle)
    if verdict.step is None:
        return None  # a receipt that replays cleanly is not the losing claim
    if (receipt.seed, receipt.block_time) != (replayed.seed, replayed.block_time):
        return status, Ruling(root, 0, "seed or block time of another call")
    return status, Ruling(root, verdict.step, verdict.what)
