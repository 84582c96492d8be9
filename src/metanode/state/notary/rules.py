"""notary rules: the only code that writes LogBlocks, their receipt index, executor tips and
disputes, and that mints Proof-of-Execution rewards.

Rules:
- `on_submit_logblock` (message 22) is a flat guard ladder (tests/state/test_notary.py pins
  the order); it returns its failure code before writing anything. The pairing, the most
  expensive rung, comes last.
- What the chain checks: the range is well formed, covered and contiguous with the app's last
  committed LogBlock; the root is the RFC 6962 root over the leaves' receipt hashes; a quorum
  (ceil(2n/3) of power) of the notary committee (committee.py) signed the LogBlock with one
  BLS aggregate; no receipt is notarised twice, nor one the court proved false; each
  executor's leaves chain by `previous` from its last notarised receipt of the app (zero for
  its first); the replicas of each call agree on the result hash. What it cannot check,
  because a leaf carries a receipt's hash and figures but not its body: the executor's
  Ed25519 signature over the receipt, that the receipt hash and result hash are the body's,
  and the leaf's `output_bytes` and `state_bytes`. The notaries check those off chain before
  they sign (docs/notary.md); a LogBlock that lies about them is signed evidence against its
  quorum.
- Against state/apps (`_check_calls`, right after the range checks): the app exists, the
  version is one of its versions, each call of the range was made and named that version, each
  leaf's executor was drawn for its call's epoch (state/apps/assignment.py), its fuel is
  within the call's limit, and a split-origin leaf names its call's CallApp transaction (the
  call record keeps its hash). A call needs at least one receipt (coverage) and at most one
  per executor drawn: a silent replica leaves its calls to the others, which alone are paid.
  The leaf's `request_tx` is, like its figures, attested by the quorum: the chain cannot see
  the receipt body, so the notaries check off chain that it is the body's (node/hosting.py
  `request_problem`, the client's key and signature too).
- Replicas that disagree: the LogBlock is not committed. A dispute is recorded under (app,
  first_seq) with the whole LogBlock as evidence, the transaction succeeds (code OK, event
  `dispute_opened`), the court opens its dispute between the replicas (state/court), and
  every later LogBlock for that range is refused (`range_disputed`) until the court settles
  it and deletes the record. Nothing is minted or settled for a disputed range meanwhile.
- On commit (`on_logblock_committed`): the LogBlock is stored under the app's next number
  with its height, each receipt hash indexed to (app, number, leaf index), the executor tips
  moved to their last leaf, and each executor minted its PoE reward (state/poe) through
  `bank.mint`, so the supply record counts it; then billing settles every call of the range
  (state/billing).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from itertools import pairwise

from metanode.crypto import bls
from metanode.errors import InvariantViolation, VerificationError, check
from metanode.state.apps.assignment import assigned
from metanode.state.apps.records import CallRecord, read_app, read_call
from metanode.state.bank.rules import can_mint, mint
from metanode.state.billing.rules import bill
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.court import keys as court_keys
from metanode.state.court.rules import open_from_notary
from metanode.state.notary import errors, keys
from metanode.state.notary.committee import Member, notary_committee, quorum_reached
from metanode.state.notary.messages import check_logblock, receipts_root
from metanode.state.notary.records import (
    AppTip,
    Dispute,
    ExecutorTip,
    Stored,
    read_app_tip,
    read_dispute,
    read_executor_tip,
    write_app_tip,
    write_dispute,
    write_executor_tip,
    write_logblock,
    write_receipt_index,
)
from metanode.state.poe.formula import reward_base_units, usage_of
from metanode.state.poe.params import read_params as read_poe_params
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom, Event, LogBlock, LogLeaf, SubmitLogBlock
from metanode.types import constants as types_constants

Rewards = tuple[tuple[bytes, int], ...]  # (executor key, NEX base units), by executor key


def on_submit_logblock(writer: Overlay, context: TxContext, message: SubmitLogBlock) -> int:
    logblock = message.logblock
    code = check_logblock(logblock)
    if code != OK:
        return code
    app_id = logblock.app_id
    code = _check_calls(writer, logblock)
    if code != OK:
        return code
    if logblock.first_seq != read_app_tip(writer, app_id).next_seq:
        return errors.RANGE_NOT_CONTIGUOUS
    if read_dispute(writer, app_id, logblock.first_seq) is not None:
        return errors.RANGE_DISPUTED
    if receipts_root(logblock) != logblock.root:
        return errors.WRONG_ROOT
    committee = notary_committee(writer)
    signers = _signers(logblock, committee)
    if signers is None:
        return errors.SIGNERS_INVALID
    total = sum(member.power for member in committee)
    if not quorum_reached(sum(member.power for member in signers), total):
        return errors.NOTARY_POWER_TOO_LOW
    hashes = [leaf.receipt_hash for leaf in logblock.leaves]
    if len(set(hashes)) != len(hashes) or any(
        writer.get(keys.receipt(receipt_hash)) is not None for receipt_hash in hashes
    ):
        return errors.RECEIPT_ALREADY_NOTARISED
    if any(
        writer.get(court_keys.false_receipt(receipt_hash)) is not None for receipt_hash in hashes
    ):
        return errors.RECEIPT_PROVEN_FALSE
    chains = by_executor(logblock.leaves)
    tips = {executor: read_executor_tip(writer, app_id, executor) for executor in chains}
    if not _chains_link(chains, tips):
        return errors.CHAIN_LINK_BROKEN
    # One encoding of the leaves for the aggregate's message and the stored LogBlock.
    message, wire = logblock.signing_message_and_wire()
    try:
        bls.verify_with_points(
            [_member_point(member.bls_public_key) for member in signers],
            message,
            logblock.aggregate,
        )
    except VerificationError:
        return errors.AGGREGATE_INVALID
    disagreeing = first_disagreement(logblock.leaves)
    if disagreeing is not None:
        write_dispute(writer, Dispute(context.block.height, disagreeing, logblock))
        open_from_notary(writer, context, logblock, disagreeing)
        context.events.append(
            Event(
                "dispute_opened",
                (
                    ("app", app_id),
                    ("first_seq", logblock.first_seq.to_bytes(8, "big")),
                    ("call_seq", disagreeing.to_bytes(8, "big")),
                ),
            )
        )
        return OK
    rewards = rewards_of(writer, chains, tips)
    if can_mint(writer, Denom.NEX, sum(amount for _, amount in rewards)) != OK:
        return errors.SUPPLY_OVERFLOW
    context.events.append(
        on_logblock_committed(writer, context.block, logblock, rewards, wire, chains)
    )
    return OK


# A member's BLS key decoded and subgroup-checked once, not at every LogBlock it signs (0.5 ms
# of a 256-call LogBlock's 15 ms, docs/performance.md "Apps, w25"); a key that fails raises
# KeyFormatError as `bls.fast_aggregate_verify` would, and is not kept. Bounded: the committee
# changes with the registry.
_member_point = functools.lru_cache(maxsize=2 * types_constants.notary_committee_max)(
    bls.public_key_point
)


def _check_calls(reader: StateReader, logblock: LogBlock) -> int:
    """The LogBlock against state/apps: the app and version exist, every call of the range was
    made, named this version, and was served only by executors drawn for its epoch, within its
    fuel limit, each split-origin receipt naming the call's own transaction. So `settle_call`
    cannot refuse what commits (its other refusals, a settled call and no executors, are ruled
    out by contiguity and coverage)."""
    app = read_app(reader, logblock.app_id)
    if app is None:
        return errors.APP_UNKNOWN
    if not 1 <= logblock.app_version <= app.versions:
        return errors.APP_VERSION_UNKNOWN
    if logblock.last_seq >= app.calls:
        return errors.CALL_UNKNOWN
    calls: dict[int, CallRecord] = {}
    for seq in range(logblock.first_seq, logblock.last_seq + 1):
        found = read_call(reader, logblock.app_id, seq)
        if found is None:
            raise InvariantViolation(f"call {seq} of {logblock.app_id.hex()} has no record")
        if found.version != logblock.app_version:
            return errors.CALL_VERSION_MISMATCH
        calls[seq] = found
    drawn: dict[int, tuple[Address, ...] | None] = {}
    for leaf in logblock.leaves:
        call = calls[leaf.call_seq]
        if call.epoch not in drawn:
            drawn[call.epoch] = assigned(reader, logblock.app_id, call.epoch)
        if Address.from_public_key(leaf.executor) not in (drawn[call.epoch] or ()):
            return errors.EXECUTOR_NOT_ASSIGNED
        if leaf.fuel_used > call.fuel_limit:
            return errors.FUEL_ABOVE_CALL_LIMIT
        if leaf.request_tx and leaf.request_tx != call.tx_hash:
            return errors.REQUEST_MISMATCH
    return OK


def _signers(logblock: LogBlock, committee: Sequence[Member]) -> list[Member] | None:
    """The members the bitmap names, or None if it is not exactly ceil(n/8) bytes with no bit
    set past the committee's end (one LogBlock, one encoding of who signed)."""
    size = len(committee)
    if len(logblock.signers) != (size + 7) // 8 or any(
        logblock.signed_by(index) for index in range(size, 8 * len(logblock.signers))
    ):
        return None
    return [member for index, member in enumerate(committee) if logblock.signed_by(index)]


def by_executor(leaves: Sequence[LogLeaf]) -> dict[bytes, list[LogLeaf]]:
    """Each executor's leaves in call order, executors in key order (never hash order)."""
    chains: dict[bytes, list[LogLeaf]] = {}
    for leaf in sorted(leaves, key=lambda leaf: (leaf.executor, leaf.call_seq)):
        chains.setdefault(leaf.executor, []).append(leaf)
    return chains


def _chains_link(chains: Mapping[bytes, list[LogLeaf]], tips: Mapping[bytes, ExecutorTip]) -> bool:
    return all(
        chain[0].previous == tips[executor].receipt_hash
        and all(later.previous == earlier.receipt_hash for earlier, later in pairwise(chain))
        for executor, chain in chains.items()
    )


def first_disagreement(leaves: Sequence[LogLeaf]) -> int | None:
    """The first call whose replicas' result hashes differ (leaves are in call order)."""
    for earlier, later in pairwise(leaves):
        if earlier.call_seq == later.call_seq and earlier.result_hash != later.result_hash:
            return earlier.call_seq
    return None


def rewards_of(
    reader: StateReader,
    chains: Mapping[bytes, list[LogLeaf]],
    tips: Mapping[bytes, ExecutorTip],
) -> Rewards:
    """Each executor's PoE reward for its leaves (`chains`, `by_executor`'s), its storage
    counted from its tip (`tips`, as the LogBlock's checks read them)."""
    params = read_poe_params(reader)
    rewards = []
    for executor, chain in chains.items():
        tip = tips[executor]
        start = None if tip == ExecutorTip() else (tip.block_time, tip.state_bytes)
        usage = usage_of(chain, start, params)
        rewards.append((executor, reward_base_units(usage, params)))
    return tuple(rewards)


def store_logblock(
    writer: Overlay,
    height: int,
    logblock: LogBlock,
    wire: bytes | None = None,
    chains: Mapping[bytes, list[LogLeaf]] | None = None,
) -> int:
    """Store the LogBlock (`wire`: its encoding, `chains`: its leaves `by_executor`, if the
    caller holds them) under the app's next number, index its receipts and move the executor
    tips; return its number (`on_logblock_committed`'s first step)."""
    app_id = logblock.app_id
    number = read_app_tip(writer, app_id).count
    write_logblock(writer, number, Stored(height, logblock), wire)
    write_app_tip(writer, app_id, AppTip(number + 1, logblock.last_seq + 1))
    for index, leaf in enumerate(logblock.leaves):
        write_receipt_index(writer, leaf.receipt_hash, app_id, number, index)
    for executor, chain in (by_executor(logblock.leaves) if chains is None else chains).items():
        last = chain[-1]
        write_executor_tip(
            writer,
            app_id,
            executor,
            ExecutorTip(last.receipt_hash, last.block_time, last.state_bytes),
        )
    return number


def on_logblock_committed(
    writer: Overlay,
    block: BlockContext,
    logblock: LogBlock,
    rewards: Rewards,
    wire: bytes,
    chains: Mapping[bytes, list[LogLeaf]],
) -> Event:
    """Commit a LogBlock that passed every check (`wire`: its encoding, made with the
    aggregate's message; `chains`: its leaves `by_executor`, which the checks sorted once for
    the chain links, the rewards and the tips): store it, index its receipts, move the
    executor tips, mint the PoE rewards; return the `logblock_committed` event.

    The one commit path. After the mint, billing (state/billing: `apps.settle_call` once per
    call of the range, and the epoch's statements) charges each call's escrow for the fuel its
    agreeing replicas used, pays the executors that served it and refunds the rest; every
    refusal settle_call could give is ruled out by the ladder (`_check_calls`), as the mint's
    is by the supply check."""
    app_id = logblock.app_id
    number = store_logblock(writer, block.height, logblock, wire, chains)
    minted = 0
    for executor, amount in rewards:
        if amount:
            code = mint(writer, Address.from_public_key(executor), Denom.NEX, amount)
            check(code == OK, "mint refused after the ladder's supply check passed")
            minted += amount
    bill(writer, logblock, rewards)
    return Event(
        "logblock_committed",
        (
            ("app", app_id),
            ("number", number.to_bytes(8, "big")),
            ("first_seq", logblock.first_seq.to_bytes(8, "big")),
            ("last_seq", logblock.last_seq.to_bytes(8, "big")),
            ("root", logblock.root),
            ("minted", minted.to_bytes(8, "big")),
        ),
    )
