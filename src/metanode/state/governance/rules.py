"""governance rules: the only code that writes proposals, deposits, votes and the
`governance/deposits` pool.

Rules (Cosmos x/gov, v0.47 defaults, docs/governance.md):
- Submitting needs an initial deposit of at least `min_initial_deposit_bps` of `min_deposit`
  from the sender; anyone may add to it. When the deposit reaches `min_deposit` the voting
  period starts in that block h and ends with block h + `voting_period_blocks`. A proposal
  whose deposit period (`deposit_period_blocks` from submission) ends below `min_deposit`
  EXPIRES and its deposits are burned, as x/gov's specification says: otherwise anyone could
  hold every open slot (`governance_open_proposals_max`) for the price of the fees.
- Votes (yes, abstain, no, veto) may be cast and replaced during the voting period by accounts
  with bonded stake; queries.py says how stake weighs them, delegators inheriting their
  validator's vote.
- The tally runs at the end of the block where the voting period ends (`decide`): below
  quorum (voted < quorum × bonded) → NO_QUORUM, deposits burned; everyone abstained →
  REJECTED; veto > veto_threshold × voted → VETOED, deposits burned; yes > threshold ×
  (voted − abstain) → PASSED; else REJECTED. PASSED and REJECTED refund the deposits. All
  comparisons are exact integer cross-multiplications.
- A PASSED proposal executes at the end of the next block (`execute`). Its effect is checked
  again then: a treasury spend above the treasury's balance, an authority change the registry
  no longer allows, or an upgrade height already reached make it EXECUTION_FAILED and change
  nothing.
- End of block runs after staking's and the registry's (machine.py), over the open proposals
  in id order; a parameter change written here is read from the next block on.
Each message handler is a flat guard ladder (tests/state/test_governance.py pins the order) and
returns its failure code before writing anything.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.bank.accounts import TREASURY, module_address, read_account
from metanode.state.bank.rules import burn, move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.governance import errors, keys
from metanode.state.governance.messages import check_deposit, check_submit
from metanode.state.governance.parameters import Parameter, apply_change, check_change
from metanode.state.governance.queries import deposits, has_bonded_stake, open_ids, tally
from metanode.state.governance.records import (
    GovernanceParams,
    ProposalRecord,
    Status,
    Tally,
    read_params,
    read_proposal,
    write_proposal,
    write_upgrade,
)
from metanode.state.identity.queries import AUTHORITY_TYPES
from metanode.state.policy.rules import containment_code, set_containment
from metanode.state.registry.records import read_node
from metanode.state.registry.rules import set_authority
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import (
    Address,
    AppContainment,
    AuthorityChange,
    Denom,
    Deposit,
    Event,
    ParameterChanges,
    ProposalContent,
    SoftwareUpgrade,
    SubmitProposal,
    TreasurySpend,
    Vote,
)

DEPOSITS_POOL = module_address("governance/deposits")


def authority_code(reader: StateReader, change: AuthorityChange) -> int:
    node = read_node(reader, change.node)
    if node is None:
        return errors.NODE_NOT_FOUND
    if node.node_type not in AUTHORITY_TYPES:
        return errors.NODE_NOT_AUTHORITY_TYPE
    if node.is_authority == change.enabled:
        return errors.AUTHORITY_UNCHANGED
    return OK


def _content_code(reader: StateReader, content: ProposalContent, height: int) -> int:
    """The checks of a proposal's effect against state: at submission and again before it
    executes."""
    if isinstance(content, SoftwareUpgrade) and content.height <= height:
        return errors.UPGRADE_HEIGHT_PASSED
    if isinstance(content, AuthorityChange):
        return authority_code(reader, content)
    if isinstance(content, AppContainment):
        return containment_code(reader, content)
    if (
        isinstance(content, TreasurySpend)
        and read_account(reader, TREASURY).balance(content.denom) < content.amount
    ):
        return errors.SPEND_ABOVE_TREASURY_BALANCE
    return OK


def on_submit_proposal(writer: Overlay, context: TxContext, message: SubmitProposal) -> int:
    code = check_submit(message)
    if code != OK:
        return code
    code = _content_code(writer, message.content, context.block.height)
    if code != OK:
        return code
    params = read_params(writer)
    if message.deposit < params.min_initial_deposit:
        return errors.DEPOSIT_TOO_SMALL
    if read_account(writer, context.sender).balance(Denom.GEN) < message.deposit:
        return errors.INSUFFICIENT_FUNDS
    if len(open_ids(writer)) >= constants.governance_open_proposals_max:
        return errors.TOO_MANY_OPEN_PROPOSALS
    height = context.block.height
    proposal_id = read_uint(writer, keys.NEXT_ID)  # genesis stores 1 at least
    write_uint(writer, keys.NEXT_ID, proposal_id + 1)
    record = ProposalRecord(
        proposal_id,
        context.sender,
        message.title,
        message.content,
        Status.DEPOSIT_PERIOD,
        height,
        height + params.deposit_period_blocks,
        0,
        0,
        0,
        Tally(),
        0,
    )
    write_proposal(
        writer, _add_deposit(writer, params, record, context.sender, message.deposit, height)
    )
    context.events.append(Event("proposal", (("id", proposal_id.to_bytes(8, "big")),)))
    return OK


def on_deposit(writer: Overlay, context: TxContext, message: Deposit) -> int:
    code = check_deposit(message)
    if code != OK:
        return code
    record = read_proposal(writer, message.proposal_id)
    if record is None:
        return errors.PROPOSAL_NOT_FOUND
    if record.status not in (Status.DEPOSIT_PERIOD, Status.VOTING_PERIOD):
        return errors.PROPOSAL_CLOSED
    if (
        writer.get(keys.deposit(record.id, context.sender)) is None
        and len(deposits(writer, record.id)) >= constants.governance_depositors_max
    ):
        return errors.DEPOSITORS_FULL
    if read_account(writer, context.sender).balance(Denom.GEN) < message.amount:
        return errors.INSUFFICIENT_FUNDS
    params = read_params(writer)
    height = context.block.height
    write_proposal(
        writer, _add_deposit(writer, params, record, context.sender, message.amount, height)
    )
    return OK


def _add_deposit(
    writer: Overlay,
    params: GovernanceParams,
    record: ProposalRecord,
    depositor: Address,
    amount: int,
    height: int,
) -> ProposalRecord:
    """Move `amount` GEN into the pool for `record`; start its voting period if the deposit
    now reaches `min_deposit`. Returns the record to write."""
    if amount:
        check(move(writer, depositor, DEPOSITS_POOL, Denom.GEN, amount) == OK, "funds checked")
        key = keys.deposit(record.id, depositor)
        write_uint(writer, key, read_uint(writer, key) + amount)
    total = record.total_deposit + amount
    if record.status is Status.DEPOSIT_PERIOD and total >= params.min_deposit:
        return replace(
            record,
            status=Status.VOTING_PERIOD,
            total_deposit=total,
            voting_start_height=height,
            voting_end_height=height + params.voting_period_blocks,
        )
    return replace(record, total_deposit=total)


def on_vote(writer: Overlay, context: TxContext, message: Vote) -> int:
    record = read_proposal(writer, message.proposal_id)
    if record is None:
        return errors.PROPOSAL_NOT_FOUND
    if record.status is not Status.VOTING_PERIOD:
        return errors.VOTE_OUTSIDE_PERIOD
    if not has_bonded_stake(writer, context.sender):
        return errors.NO_BONDED_STAKE
    write_uint(writer, keys.vote(record.id, context.sender), int(message.option))
    return OK


def decide(result: Tally, params: GovernanceParams) -> Status:
    """x/gov's tally rule on exact integers (module docstring)."""
    basis = constants.basis_points
    if result.bonded == 0 or result.voted * basis < params.quorum_bps * result.bonded:
        return Status.NO_QUORUM
    if result.voted == result.abstain:
        return Status.REJECTED
    if result.veto * basis > params.veto_threshold_bps * result.voted:
        return Status.VETOED
    if result.yes * basis > params.threshold_bps * (result.voted - result.abstain):
        return Status.PASSED
    return Status.REJECTED


def _settle_deposits(writer: Overlay, proposal_id: int, burned: bool) -> None:
    for depositor, amount in deposits(writer, proposal_id):
        if burned:
            burn(writer, DEPOSITS_POOL, Denom.GEN, amount)
        else:
            check(
                move(writer, DEPOSITS_POOL, depositor, Denom.GEN, amount) == OK,
                "the deposits pool holds every deposit",
            )
        writer.delete(keys.deposit(proposal_id, depositor))


def _tally(writer: Overlay, record: ProposalRecord, height: int) -> ProposalRecord:
    result = tally(writer, record.id)
    status = decide(result, read_params(writer))
    _settle_deposits(writer, record.id, burned=status in (Status.VETOED, Status.NO_QUORUM))
    for key, _value in list(writer.scan(keys.votes_of(record.id))):
        writer.delete(key)
    return replace(record, status=status, tally=result, tally_height=height)


def _execute(writer: Overlay, record: ProposalRecord, height: int) -> Status:
    content = record.content
    if _content_code(writer, content, height) != OK:
        return Status.EXECUTION_FAILED
    if isinstance(content, ParameterChanges):
        for change in content.changes:
            check(check_change(change.parameter, change.value) == OK, "checked at submission")
            apply_change(writer, Parameter(change.parameter), change.value)
    elif isinstance(content, TreasurySpend):
        code = move(writer, TREASURY, content.recipient, content.denom, content.amount)
        check(code == OK, "the treasury's balance was checked")
    elif isinstance(content, AuthorityChange):
        set_authority(writer, content.node, content.enabled)
    elif isinstance(content, AppContainment):
        set_containment(writer, content, height)
    else:
        write_upgrade(writer, content.name, content.height, record.id)
    return Status.EXECUTED


def end_block(writer: Overlay, block: BlockContext) -> None:
    """Execute proposals that passed in an earlier block, tally those whose voting period ends
    here, expire those whose deposit period ends here; by id."""
    height = block.height
    for proposal_id in open_ids(writer):
        record = read_proposal(writer, proposal_id)
        if record is None or not record.status.is_open:
            raise InvariantViolation(f"the open marker of {proposal_id} names no open proposal")
        if record.status is Status.PASSED:
            write_proposal(writer, replace(record, status=_execute(writer, record, height)))
        elif record.status is Status.VOTING_PERIOD and record.voting_end_height <= height:
            write_proposal(writer, _tally(writer, record, height))
        elif record.status is Status.DEPOSIT_PERIOD and record.deposit_end_height <= height:
            _settle_deposits(writer, proposal_id, burned=True)
            write_proposal(writer, replace(record, status=Status.EXPIRED))
