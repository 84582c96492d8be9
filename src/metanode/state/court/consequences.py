"""What the end of a dispute does, in one place (`finish`), whoever ends it: a ruling, a
missed deadline, or nobody asking.

- The losing side pays: an executor loses `slash_fraction_ppm` of its stake (its own bond in
  staking for a validator, its registry stake otherwise), `challenger_share_ppm` of it to the
  winning side and the rest to the treasury (all of it when both sides lost); a challenger
  that loses forfeits its bond to the treasury. A winning challenger gets its bond back, and
  an undecided dispute returns it.
- The losing executor's receipt of the disputed call is marked false (keys.false_receipt),
  and if a committed LogBlock paid it, its share of the call's fee goes back to the caller
  and the NEX minted for it is burned from the executor (`_claw_back_mint`; what it already
  spent is recorded as short, keys.clawback).
- A REPLICAS dispute releases the notary's withheld range (notary.records.delete_dispute): a
  LogBlock without the false receipt can follow, and only then are the calls settled and
  minted for, so nothing was paid for them while the dispute was open.
Coins only move between accounts (bank.move), are cut by staking's own slash, or are burned
(bank.burn, which counts them in the supply), so the bank's supply invariant holds throughout.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.errors import InvariantViolation, check
from metanode.state.apps.records import read_call
from metanode.state.apps.rules import settlement
from metanode.state.bank.accounts import TREASURY, module_address, read_account
from metanode.state.bank.rules import burn, move
from metanode.state.codes import OK
from metanode.state.context import BlockContext
from metanode.state.court import keys
from metanode.state.court.params import PPM, read_params
from metanode.state.court.records import (
    CHALLENGER,
    DEFENDER,
    ZERO,
    AppDisputes,
    Clawback,
    Dispute,
    Kind,
    Ruling,
    Status,
    read_app_disputes,
    write_app_disputes,
    write_clawback,
    write_dispute,
    write_id,
)
from metanode.state.notary import queries as notary
from metanode.state.notary.records import delete_dispute, read_logblock
from metanode.state.poe.formula import reward_base_units, usage_of
from metanode.state.poe.params import read_params as read_poe_params
from metanode.state.registry.records import read_node, write_node
from metanode.state.registry.rules import REGISTRY_POOL
from metanode.state.staking import rules as staking
from metanode.state.staking.records import read_uint, read_validator, write_uint
from metanode.state.view import Overlay
from metanode.types import Address, Denom

BONDS = module_address("court/bonds")
SLASHED = module_address("court/slashed")  # a slash passes through here on its way out
_BASIS_POINTS_PER_PPM = 100

_LOSERS = {
    Status.DEFENDER_WON: (CHALLENGER,),
    Status.CHALLENGER_WON: (DEFENDER,),
    Status.BOTH_WRONG: (DEFENDER, CHALLENGER),
    Status.UNDECIDED: (),
}


def finish(
    writer: Overlay,
    block: BlockContext,
    dispute_id: int,
    dispute: Dispute,
    status: Status,
    ruling: Ruling | None,
) -> None:
    params = read_params(writer)
    losers = _LOSERS[status]
    winner = next((side for side in (DEFENDER, CHALLENGER) if side not in losers), None)
    for side in losers:
        if dispute.kind is Kind.CHALLENGE and side == CHALLENGER:
            _pay(writer, BONDS, TREASURY, dispute.bond)
            continue
        slashed = _slash(writer, block, dispute.sides[side], params.slash_fraction_ppm)
        share = (
            slashed * params.challenger_share_ppm // PPM if status is not Status.BOTH_WRONG else 0
        )
        if winner is not None:
            _pay(writer, SLASHED, dispute.sides[winner], share)
        _pay(writer, SLASHED, TREASURY, slashed - share)
        if dispute.receipts[side] != ZERO:
            write_id(writer, keys.false_receipt(dispute.receipts[side]), dispute_id)
            _reverse_fee(writer, dispute.receipts[side], dispute.sides[side])
            _claw_back_mint(writer, dispute.receipts[side], dispute.sides[side])
    if dispute.kind is Kind.CHALLENGE and CHALLENGER not in losers:
        _pay(writer, BONDS, dispute.sides[CHALLENGER], dispute.bond)
    if dispute.kind is Kind.REPLICAS:
        delete_dispute(writer, dispute.app_id, dispute.first_seq)
    writer.delete(keys.deadline(dispute.deadline, dispute_id))
    write_uint(writer, keys.OPEN_COUNT, read_uint(writer, keys.OPEN_COUNT) - 1)
    counts = read_app_disputes(writer, dispute.app_id)
    settled = AppDisputes(counts.open - 1, counts.settled + 1)
    write_app_disputes(writer, dispute.app_id, settled)
    write_dispute(writer, dispute_id, replace(dispute, status=status, ruling=ruling))


def _pay(writer: Overlay, source: Address, target: Address, amount: int) -> None:
    denom = Denom.FLX if source == BONDS else Denom.GEN
    check(move(writer, source, target, denom, amount) == OK, f"{source} holds what it pays")


def _reverse_fee(writer: Overlay, receipt_hash: bytes, executor: Address) -> None:
    """A false receipt in a committed LogBlock was paid its share of its call's fee when the
    LogBlock settled (state/billing): that share, as the fee split computes it now, goes back
    from the executor to the call's caller, as far as the executor's FLX covers it. (A
    withheld range's receipts were never paid; the PoE mint is `_claw_back_mint`'s.)"""
    found = notary.receipt(writer, receipt_hash)
    if found is None:
        return
    seq = found.leaf.call_seq
    stored = read_logblock(writer, found.app_id, found.number)
    call = read_call(writer, found.app_id, seq)
    if stored is None or call is None:
        raise InvariantViolation(f"notarised receipt {receipt_hash.hex()} lost its LogBlock")
    served = sum(1 for leaf in stored.logblock.leaves if leaf.call_seq == seq)
    each = settlement(writer, call, found.leaf.fuel_used, served).each
    amount = min(each, read_account(writer, executor).balance(Denom.FLX))
    check(move(writer, executor, call.caller, Denom.FLX, amount) == OK, "the executor holds it")


def _claw_back_mint(writer: Overlay, receipt_hash: bytes, executor: Address) -> None:
    """A false receipt in a committed LogBlock earned its executor part of that LogBlock's PoE
    mint: what the formula gives the executor's leaves there, less what it gives them without
    the false one (the formula is not linear, so this is the receipt's whole effect on the
    mint), at the ruling's PoE parameters. That much NEX is burned from the executor, as far
    as its balance covers it; what it already spent is recorded as short (keys.clawback)."""
    found = notary.receipt(writer, receipt_hash)
    if found is None:
        return
    stored = read_logblock(writer, found.app_id, found.number)
    if stored is None:
        raise InvariantViolation(f"notarised receipt {receipt_hash.hex()} lost its LogBlock")
    mine = [leaf for leaf in stored.logblock.leaves if leaf.executor == found.leaf.executor]
    before = notary.receipt(writer, mine[0].previous)  # its tip when the LogBlock committed
    start = None if before is None else (before.leaf.block_time, before.leaf.state_bytes)
    params = read_poe_params(writer)
    honest = [leaf for leaf in mine if leaf.receipt_hash != receipt_hash]
    earned = reward_base_units(usage_of(mine, start, params), params)
    owed = max(0, earned - reward_base_units(usage_of(honest, start, params), params))
    clawed = min(owed, read_account(writer, executor).balance(Denom.NEX))
    burn(writer, executor, Denom.NEX, clawed)
    write_clawback(writer, receipt_hash, Clawback(clawed, owed - clawed))


def _slash(writer: Overlay, block: BlockContext, executor: Address, fraction_ppm: int) -> int:
    """Cut the executor's stake into `SLASHED`; the amount cut (0 for an address that stakes
    nothing: a dispute cannot take what was never locked)."""
    if read_validator(writer, executor) is not None:
        fraction_bps = fraction_ppm // _BASIS_POINTS_PER_PPM
        return staking.slash(writer, block, executor, fraction_bps, SLASHED)
    node = read_node(writer, executor)
    if node is None:
        return 0
    cut = node.stake * fraction_ppm // PPM
    write_node(writer, executor, replace(node, stake=node.stake - cut))
    check(move(writer, REGISTRY_POOL, SLASHED, Denom.GEN, cut) == OK, "the pool holds stakes")
    return cut
