"""governance: a proposal changes the epoch length and it takes effect after the tally; the
guard ladders of SubmitProposal, Deposit and Vote are pinned; stake-weighted tallies with
inherited validator votes; deposits refunded or burned by the x/gov rules; treasury spends and
authority changes executed in the block after the tally; genesis round trips. Every block runs
every invariant (support.Chain)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from metanode.state import constants
from metanode.state.bank import queries as bank_queries
from metanode.state.bank.accounts import TREASURY
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis, genesis_writes
from metanode.state.governance import queries
from metanode.state.governance.parameters import OWNERS, Parameter, owner_and_field
from metanode.state.governance.records import GovernanceParams, Status, Tally
from metanode.state.governance.rules import DEPOSITS_POOL, decide
from metanode.state.registry import queries as registry_queries
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.records import read_params as staking_params
from metanode.state.view import MemoryReader
from metanode.types import (
    Address,
    AuthorityChange,
    Bond,
    Denom,
    Deposit,
    NodeType,
    ParameterChange,
    ParameterChanges,
    RegisterNode,
    Role,
    SoftwareUpgrade,
    SubmitProposal,
    Transfer,
    TreasurySpend,
    Vote,
    VoteOption,
)
from tests.state.support import (
    COIN,
    FEE,
    Chain,
    Wallet,
    bls_material,
    genesis_tree,
    seed,
    validator_wallet,
)

MIN_DEPOSIT = 100 * COIN
VOTING = 3  # blocks: a proposal whose voting starts in block h is tallied at the end of h + 3
BANK_NODE = Wallet.of(7)


def bank_node_entry() -> dict[str, Any]:
    bls_key, pop = bls_material(70)
    return {
        "node_type": "bank",
        "roles": ["authority"],
        "public_key": BANK_NODE.public_key.hex(),
        "bls_public_key": bls_key.hex(),
        "bls_proof_of_possession": pop.hex(),
        "vrf_public_key": seed("vrf", 70).hex(),
        "p2p_address": "bank.example:7000",
        "did": "did:metanode:bank",
    }


def chain_of(epoch: int = 4, treasury: int = 50 * COIN, **governance: Any) -> Chain:
    tree = genesis_tree(
        wallets=4,
        validators=2,
        parameters={"staking": {"unbonding_delay_blocks": 3, "epoch_blocks": epoch}},
    )
    tree["accounts"].append(
        {"address": str(TREASURY), "balances": {"GEN": treasury, "FLX": treasury}}
    )
    # Validators pay their votes' fees.
    tree["accounts"] += [
        {"address": str(validator_wallet(i).address), "balances": {"FLX": COIN}} for i in (0, 1)
    ]
    tree["nodes"] = [bank_node_entry()]
    tree["governance"] = {
        "parameters": {
            "min_deposit": str(MIN_DEPOSIT),
            "deposit_period_blocks": 5,
            "voting_period_blocks": VOTING,
            **governance,
        }
    }
    return Chain(from_tree(tree))


def epoch_change(blocks: int) -> ParameterChanges:
    return ParameterChanges((ParameterChange(Parameter.STAKING_EPOCH_BLOCKS, blocks),))


def submit(content: Any, deposit: int = MIN_DEPOSIT, title: str = "change") -> SubmitProposal:
    return SubmitProposal(title, content, deposit)


def run_until_height(chain: Chain, height: int) -> None:
    while chain.state.height < height:
        chain.run([])


def set_after_next(chain: Chain) -> dict[Address, int]:
    return {m.address: m.power for m in staking_queries.next_validator_set(chain.state.reader)}


def test_a_proposal_changes_the_epoch_length_and_it_takes_effect_after_the_tally() -> None:
    chain = chain_of(epoch=4)
    proposer, holder = Wallet.of(1), Wallet.of(2)
    v0, v1 = validator_wallet(0), validator_wallet(1)
    receipt = chain.run([proposer.tx(0, submit(epoch_change(2)))]).receipts[0]  # block 1
    assert receipt.code == OK and receipt.events[0].kind == "proposal"
    record = queries.proposal(chain.state.reader, 1)
    assert record is not None and record.status is Status.VOTING_PERIOD
    assert record.voting_end_height == 1 + VOTING
    chain.run([v0.tx(0, Vote(1, VoteOption.YES)), v1.tx(0, Vote(1, VoteOption.YES))])  # 2
    run_until_height(chain, 4)  # the end of block 4 tallies
    record = queries.proposal(chain.state.reader, 1)
    assert record.status is Status.PASSED and record.tally_height == 4
    assert record.tally.yes == record.tally.bonded == 2_000 * COIN
    assert staking_params(chain.state.reader).epoch_blocks == 4  # not yet: passed, not executed
    chain.run([])  # block 5 executes it
    assert queries.proposal(chain.state.reader, 1).status is Status.EXECUTED
    assert staking_params(chain.state.reader).epoch_blocks == 2
    # Deposits are refunded to a passed proposal's depositor.
    assert bank_queries.balance(chain.state.reader, proposer.address, Denom.GEN) == 1_000 * COIN
    # The new length rules the set changes: a bond in block 8 reaches the set at the end of
    # block 9 (9 + 1 is a multiple of 2); with epochs of 4 it would wait for the end of 11.
    run_until_height(chain, 7)
    chain.run([holder.tx(0, Bond(v0.address, 500 * COIN))])  # block 8
    assert set_after_next(chain)[v0.address] == 1_000
    chain.run([])  # block 9
    assert set_after_next(chain)[v0.address] == 1_500


def test_shortening_epochs_to_one_block_recomputes_the_set_for_stakes_moved_mid_epoch() -> None:
    """Stakes that moved since the last boundary under the old length reach the set at the first
    boundary under the new one, even when nothing moves in that block (staking.set_params)."""
    chain = chain_of(epoch=100)
    v0, v1 = validator_wallet(0), validator_wallet(1)
    chain.run([Wallet.of(2).tx(0, Bond(v1.address, 300 * COIN))])  # block 1, mid-epoch
    chain.run([Wallet.of(1).tx(0, submit(epoch_change(1)))])  # block 2
    chain.run([v0.tx(0, Vote(1, VoteOption.YES)), v1.tx(0, Vote(1, VoteOption.YES))])
    run_until_height(chain, 6)  # tallied at the end of 5, executed at the end of 6
    assert staking_params(chain.state.reader).epoch_blocks == 1
    assert set_after_next(chain)[v1.address] == 1_000
    chain.run([])  # block 7: an epoch end under the new length, and nothing moved in it
    assert set_after_next(chain)[v1.address] == 1_300


def registration(key: int) -> RegisterNode:
    bls_key, pop = bls_material(key)
    return RegisterNode(
        NodeType.COMMUNITY,
        (Role.EXECUTOR,),
        bls_key,
        pop,
        seed("vrf", key),
        "node.example:7000",
        "did:metanode:x",
        0,
    )


def test_submit_ladder_order_is_pinned() -> None:
    chain = chain_of(treasury=5 * COIN)
    sender = Wallet.of(1)
    community = Wallet.of(3)
    assert chain.run([community.tx(0, registration(71))]).receipts[0].code == OK
    somebody = Wallet.of(2).address
    steps = [
        (submit(epoch_change(2), title=" "), "governance.title_invalid"),
        (submit(ParameterChanges((ParameterChange(99, 1),))), "governance.unknown_parameter"),
        (submit(epoch_change(0)), "governance.value_out_of_range"),
        (submit(TreasurySpend(somebody, 0, Denom.GEN)), "governance.amount_must_not_be_zero"),
        (
            submit(TreasurySpend(DEPOSITS_POOL, 1, Denom.GEN)),
            "governance.recipient_is_module_account",
        ),
        (submit(SoftwareUpgrade("v 2", 100)), "governance.upgrade_name_invalid"),
        (submit(SoftwareUpgrade("v2", 2)), "governance.upgrade_height_passed"),  # in block 8
        (submit(AuthorityChange(somebody, True)), "governance.node_not_found"),
        (submit(AuthorityChange(community.address, True)), "governance.node_not_authority_type"),
        (submit(AuthorityChange(BANK_NODE.address, True)), "governance.authority_unchanged"),
        (
            submit(TreasurySpend(somebody, 5 * COIN + 1, Denom.GEN)),
            "governance.spend_above_treasury_balance",
        ),
        (submit(epoch_change(2), deposit=25 * COIN - 1), "governance.deposit_too_small"),
        (submit(epoch_change(2), deposit=1_001 * COIN), "governance.insufficient_funds"),
        (submit(epoch_change(2), deposit=25 * COIN), "ok"),  # 25% of min_deposit, at once
    ]
    for nonce, (message, expected) in enumerate(steps):
        receipt = chain.run([sender.tx(nonce, message)]).receipts[0]
        assert name_of(receipt.code) == expected, (nonce, expected)


def test_deposit_and_vote_ladders_are_pinned_and_deposits_start_the_voting_period() -> None:
    chain = chain_of(deposit_period_blocks=9)
    sender, other = Wallet.of(1), Wallet.of(2)
    v0 = validator_wallet(0)
    chain.run([sender.tx(0, submit(epoch_change(2), deposit=30 * COIN))])  # block 1: id 1
    chain.run([sender.tx(1, submit(SoftwareUpgrade("v2", 10**6), deposit=30 * COIN))])  # id 2
    vote_steps = [
        (v0, Vote(9, VoteOption.YES), "governance.proposal_not_found"),
        (v0, Vote(1, VoteOption.YES), "governance.vote_outside_period"),  # deposit period
    ]
    deposit_steps = [
        (Deposit(1, 0), "governance.amount_must_not_be_zero"),
        (Deposit(9, COIN), "governance.proposal_not_found"),
        (Deposit(1, 10**4 * COIN), "governance.insufficient_funds"),
        (Deposit(1, 70 * COIN), "ok"),  # reaches min_deposit in block 8: voting to 11
    ]
    for nonce, (wallet, message, expected) in enumerate(vote_steps):
        receipt = chain.run([wallet.tx(nonce, message)]).receipts[0]  # blocks 3, 4
        assert name_of(receipt.code) == expected, (nonce, expected)
    for nonce, (message, expected) in enumerate(deposit_steps):
        receipt = chain.run([other.tx(nonce, message)]).receipts[0]  # blocks 5 to 8
        assert name_of(receipt.code) == expected, (nonce, expected)
    record = queries.proposal(chain.state.reader, 1)
    assert record.status is Status.VOTING_PERIOD and record.total_deposit == MIN_DEPOSIT
    assert (record.voting_start_height, record.voting_end_height) == (8, 8 + VOTING)
    assert queries.deposits(chain.state.reader, 1) == sorted(
        [(sender.address, 30 * COIN), (other.address, 70 * COIN)]
    )
    no_stake = Wallet.of(3)
    code = chain.run([no_stake.tx(0, Vote(1, VoteOption.YES))]).receipts[0].code  # block 9
    assert name_of(code) == "governance.no_bonded_stake"
    # By the end of block 11 nobody voted on 1: below quorum; and proposal 2's deposit period
    # (9 blocks from block 2) ended: it expired. Both burn their deposits.
    run_until_height(chain, 11)
    record = queries.proposal(chain.state.reader, 1)
    assert record.status is Status.NO_QUORUM
    assert queries.proposal(chain.state.reader, 2).status is Status.EXPIRED
    assert bank_queries.balance(chain.state.reader, DEPOSITS_POOL, Denom.GEN) == 0
    assert bank_queries.supply(chain.state.reader, Denom.GEN).burned == MIN_DEPOSIT + 30 * COIN
    assert bank_queries.balance(chain.state.reader, sender.address, Denom.GEN) == 940 * COIN
    code = chain.run([other.tx(4, Deposit(2, COIN))]).receipts[0].code
    assert name_of(code) == "governance.proposal_closed"


def test_a_rejected_governance_transaction_changes_nothing_but_the_fee() -> None:
    chain = chain_of()
    sender = Wallet.of(1)
    before = dict(chain.ledger.items)
    chain.run([sender.tx(0, submit(epoch_change(2), deposit=COIN))])
    after = chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert all(not key.startswith(b"\x07") for key in changed)
    assert bank_queries.balance(chain.state.reader, sender.address, Denom.FLX) == (
        1_000 * COIN - FEE
    )
    assert bank_queries.balance(chain.state.reader, sender.address, Denom.GEN) == 1_000 * COIN


def test_delegators_inherit_their_validator_s_vote_unless_they_vote() -> None:
    chain = chain_of()
    v0, v1, holder = validator_wallet(0), validator_wallet(1), Wallet.of(2)
    chain.run(
        [
            holder.tx(0, Bond(v1.address, 600 * COIN)),
            Wallet.of(1).tx(0, submit(epoch_change(2))),
        ]
    )
    chain.run([v0.tx(0, Vote(1, VoteOption.YES)), v1.tx(0, Vote(1, VoteOption.NO))])
    assert queries.tally(chain.state.reader, 1) == Tally(
        yes=1_000 * COIN, no=1_600 * COIN, bonded=2_600 * COIN
    )
    chain.run([holder.tx(1, Vote(1, VoteOption.YES))])  # a later vote of its own overrides
    assert queries.tally(chain.state.reader, 1) == Tally(
        yes=1_600 * COIN, no=1_000 * COIN, bonded=2_600 * COIN
    )
    chain.run([holder.tx(2, Vote(1, VoteOption.VETO))])  # and may be replaced
    run_until_height(chain, 4)
    record = queries.proposal(chain.state.reader, 1)
    # veto 600 of 2,600 voted is 23%: not vetoed; yes 1,000 of 2,600 is not above half.
    assert record.tally == Tally(
        yes=1_000 * COIN, no=1_000 * COIN, veto=600 * COIN, bonded=2_600 * COIN
    )
    assert record.status is Status.REJECTED
    assert queries.votes(chain.state.reader, 1) == []  # votes are dropped at the tally
    assert bank_queries.balance(chain.state.reader, Wallet.of(1).address, Denom.GEN) == (
        1_000 * COIN
    )


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        (Tally(bonded=0), Status.NO_QUORUM),
        (Tally(yes=333, bonded=1_000), Status.NO_QUORUM),  # 33.3% voted < 33.4%
        (Tally(yes=334, bonded=1_000), Status.PASSED),  # exactly the quorum is enough
        (Tally(abstain=900, bonded=1_000), Status.REJECTED),  # all abstained
        (Tally(yes=500, no=500, bonded=1_000), Status.REJECTED),  # half is not more than half
        (Tally(yes=501, no=499, bonded=1_000), Status.PASSED),
        (Tally(yes=600, abstain=300, no=100, bonded=1_000), Status.PASSED),
        (Tally(yes=600, veto=335, bonded=1_000), Status.VETOED),  # veto over 33.4% of voted
        (Tally(yes=666, veto=334, bonded=1_000), Status.PASSED),  # veto exactly 33.4%
    ],
)
def test_decide_follows_x_gov(tally: Tally, expected: Status) -> None:
    assert decide(tally, GovernanceParams()) is expected


def test_a_vetoed_proposal_burns_its_deposits() -> None:
    chain = chain_of()
    v0, v1 = validator_wallet(0), validator_wallet(1)
    chain.run([Wallet.of(1).tx(0, submit(epoch_change(2)))])
    chain.run([v0.tx(0, Vote(1, VoteOption.YES)), v1.tx(0, Vote(1, VoteOption.VETO))])
    run_until_height(chain, 5)
    assert queries.proposal(chain.state.reader, 1).status is Status.VETOED
    assert bank_queries.supply(chain.state.reader, Denom.GEN).burned == MIN_DEPOSIT
    assert staking_params(chain.state.reader).epoch_blocks == 4


def pass_proposal(chain: Chain, content: Any, nonce: int) -> int:
    """Submit `content` and vote it through with both validators; returns its id."""
    changes = chain.run([Wallet.of(1).tx(nonce, submit(content))])
    proposal_id = int.from_bytes(changes.receipts[0].events[0].attributes[0][1], "big")
    votes = [validator_wallet(i).tx(nonce, Vote(proposal_id, VoteOption.YES)) for i in (0, 1)]
    chain.run(votes)
    return proposal_id


def test_treasury_spends_execute_in_the_block_after_the_tally_or_fail_cleanly() -> None:
    chain = chain_of(treasury=50 * COIN)
    recipient = Wallet.of(3).address
    first = pass_proposal(chain, TreasurySpend(recipient, 30 * COIN, Denom.FLX), 0)  # blocks 1-2
    second = pass_proposal(chain, TreasurySpend(recipient, 30 * COIN, Denom.FLX), 1)  # 3-4
    run_until_height(chain, 4)  # the first was tallied at the end of 4
    flx = bank_queries.balance(chain.state.reader, recipient, Denom.FLX)
    assert queries.proposal(chain.state.reader, first).status is Status.PASSED
    chain.run([])  # block 5 pays it
    assert queries.proposal(chain.state.reader, first).status is Status.EXECUTED
    assert bank_queries.balance(chain.state.reader, recipient, Denom.FLX) == flx + 30 * COIN
    run_until_height(chain, 7)  # the second passed at the end of 6; at 7 the treasury is short
    assert queries.proposal(chain.state.reader, second).status is Status.EXECUTION_FAILED
    assert bank_queries.balance(chain.state.reader, recipient, Denom.FLX) == flx + 30 * COIN


def test_an_authority_is_turned_off_and_on_and_upgrades_are_recorded() -> None:
    chain = chain_of()
    off = pass_proposal(chain, AuthorityChange(BANK_NODE.address, False), 0)
    upgrade = pass_proposal(chain, SoftwareUpgrade("metanode-2.0", 1_000), 1)
    run_until_height(chain, 7)
    assert queries.proposal(chain.state.reader, off).status is Status.EXECUTED
    assert registry_queries.node(chain.state.reader, BANK_NODE.address).roles == ()
    assert queries.upgrade(chain.state.reader) == ("metanode-2.0", 1_000, upgrade)
    # An authority without its role still round-trips through a genesis file.
    exported = export_genesis(chain.state.reader)
    assert parse_genesis(exported.to_json()) == exported
    on = pass_proposal(chain, AuthorityChange(BANK_NODE.address, True), 2)
    run_until_height(chain, chain.state.height + VOTING + 1)
    assert queries.proposal(chain.state.reader, on).status is Status.EXECUTED
    assert registry_queries.node(chain.state.reader, BANK_NODE.address).roles == (Role.AUTHORITY,)


def test_parameter_changes_reach_each_module_and_the_list_is_closed() -> None:
    for parameter in Parameter:
        module, field = owner_and_field(parameter)
        assert field in OWNERS[module].ranges, parameter
    chain = chain_of()
    changes = ParameterChanges(
        (
            ParameterChange(Parameter.AUTH_FEE_MIN, 2_000),
            ParameterChange(Parameter.AUTH_TREASURY_FEE_BPS, 700),
            ParameterChange(Parameter.REGISTRY_SLASH_FRACTION_BPS, 900),
            ParameterChange(Parameter.GOVERNANCE_VOTING_PERIOD_BLOCKS, 10),
        )
    )
    pass_proposal(chain, changes, 0)
    run_until_height(chain, 5)
    from metanode.state.auth.params import read_params as auth_params

    assert auth_params(chain.state.reader).fee_min == 2_000
    assert auth_params(chain.state.reader).treasury_fee_bps == 700
    assert registry_queries.params(chain.state.reader).slash_fraction_bps == 900
    assert queries.params(chain.state.reader).voting_period_blocks == 10


def test_genesis_round_trip_with_proposals_deposits_votes_and_params() -> None:
    chain = chain_of(quorum_bps="4000")
    v0 = validator_wallet(0)
    chain.run([Wallet.of(1).tx(0, submit(epoch_change(2)))])  # 1: voting
    chain.run(
        [
            v0.tx(0, Vote(1, VoteOption.ABSTAIN)),
            Wallet.of(2).tx(0, submit(SoftwareUpgrade("v2", 99), deposit=40 * COIN)),  # 2
            Wallet.of(3).tx(0, Deposit(1, 5 * COIN)),
        ]
    )
    chain.run([Wallet.of(1).tx(1, submit(TreasurySpend(Wallet.of(3).address, 1, Denom.GEN)))])
    exported = export_genesis(chain.state.reader)
    governance = exported.governance
    assert governance.params.quorum_bps == 4_000
    assert [record.status for record in governance.proposals] == [
        Status.VOTING_PERIOD,
        Status.DEPOSIT_PERIOD,
        Status.VOTING_PERIOD,
    ]
    assert governance.votes == ((1, v0.address, VoteOption.ABSTAIN),)
    assert len(governance.deposits) == 4 and governance.next_id == 4
    again = parse_genesis(exported.to_json())
    assert again == exported
    reader = MemoryReader(dict((k, v) for k, v in genesis_writes(again) if v is not None))
    assert export_genesis(reader) == exported
    assert bank_queries.balance(reader, DEPOSITS_POOL, Denom.GEN) == 245 * COIN


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"parameters": {"voting_period_blocks": 0}}, "governance.parameters.voting_period"),
        ({"deposits": [{"proposal_id": 1, "depositor": "x", "amount": 1}]}, "deposits[0]"),
        ({"next_proposal_id": 0, "proposals": [{}]}, "governance.proposals[0]"),
        ({"votes": [{"proposal_id": 3, "voter": "x", "option": "yes"}]}, "votes[0].proposal"),
    ],
)
def test_genesis_governance_section_errors_name_the_field(
    section: dict[str, Any], problem: str
) -> None:
    from metanode.errors import ConfigError

    tree = genesis_tree(wallets=1)
    tree["governance"] = section
    with pytest.raises(ConfigError, match=problem.replace(".", r"\.").replace("[", r"\[")):
        from_tree(tree)


def proposal_entry(proposal_id: int, total: int = 0) -> dict[str, Any]:
    return {
        "id": proposal_id,
        "proposer": str(Wallet.of(1).address),
        "title": f"p{proposal_id}",
        "content": {"kind": "software_upgrade", "name": "v2", "height": 10**6},
        "status": "deposit_period",
        "submit_height": 0,
        "deposit_end_height": 1_000,
        "total_deposit": str(total),
    }


def test_open_proposals_and_depositors_are_bounded() -> None:
    tree = genesis_tree(wallets=3, validators=1)
    count = constants.governance_open_proposals_max
    depositors = [Wallet.of(100 + i).address for i in range(constants.governance_depositors_max)]
    tree["governance"] = {
        "proposals": [proposal_entry(1, total=len(depositors))]
        + [proposal_entry(i) for i in range(2, count + 1)],
        "deposits": [
            {"proposal_id": 1, "depositor": str(address), "amount": 1} for address in depositors
        ],
    }
    chain = Chain(from_tree(tree))
    assert [record.id for record in queries.proposals(chain.state.reader)] == list(
        range(1, count + 1)
    )
    assert len(queries.open_ids(chain.state.reader)) == count
    sender = Wallet.of(1)
    full = submit(epoch_change(2), deposit=GovernanceParams().min_initial_deposit)
    code = chain.run([sender.tx(0, full)]).receipts[0].code
    assert name_of(code) == "governance.too_many_open_proposals"
    code = chain.run([sender.tx(1, Deposit(1, COIN))]).receipts[0].code
    assert name_of(code) == "governance.depositors_full"
    # A depositor already counted may add more.
    known = Wallet.of(100)
    funding = [Wallet.of(2).tx(n, Transfer(known.address, COIN, d)) for n, d in enumerate(Denom)]
    chain.run(funding)
    assert chain.run([known.tx(0, Deposit(1, COIN))]).receipts[0].code == OK
    assert dict(queries.deposits(chain.state.reader, 1))[known.address] == COIN + 1


CONTENTS = st.sampled_from(
    [
        epoch_change(1),
        epoch_change(3),
        ParameterChanges((ParameterChange(Parameter.GOVERNANCE_QUORUM_BPS, 0),)),
        TreasurySpend(Wallet.of(2).address, 20 * COIN, Denom.GEN),
        AuthorityChange(BANK_NODE.address, False),
        AuthorityChange(BANK_NODE.address, True),
        SoftwareUpgrade("v2", 10**6),
    ]
)


class GovernanceMachine(RuleBasedStateMachine):
    """Random proposals, deposits, votes, bonds and empty blocks, each in its own block: every
    invariant holds after every block (support.Chain), a proposal is PASSED only in the block
    that tallied it (it executes in the next), and a closed proposal holds no deposit."""

    def __init__(self) -> None:
        super().__init__()
        self.chain = chain_of(epoch=2, deposit_period_blocks=4, voting_period_blocks=6)
        self.wallets = [Wallet.of(i) for i in range(4)] + [validator_wallet(i) for i in (0, 1)]
        self.nonces = [0] * len(self.wallets)

    def send(self, index: int, message: Any) -> None:
        wallet = self.wallets[index]
        self.chain.run([wallet.tx(self.nonces[index], message)])
        self.nonces[index] += 1

    @rule(
        index=st.integers(0, 3),
        content=CONTENTS,
        deposit=st.sampled_from([25 * COIN, 60 * COIN, MIN_DEPOSIT]),
    )
    def submit(self, index: int, content: Any, deposit: int) -> None:
        self.send(index, submit(content, deposit=deposit))

    @rule(content=CONTENTS)
    def submit_and_vote_yes(self, content: Any) -> None:
        """A funded proposal both validators back (random votes rarely reach the quorum)."""
        before = {record.id for record in queries.proposals(self.chain.state.reader)}
        self.send(0, submit(content))
        created = {record.id for record in queries.proposals(self.chain.state.reader)} - before
        if not created:  # refused (an authority change for a node that is not an authority…)
            return
        (proposal_id,) = created
        for index in (4, 5):
            self.send(index, Vote(proposal_id, VoteOption.YES))

    @rule(index=st.integers(0, 3), proposal_id=st.integers(1, 6), amount=st.integers(1, 80))
    def deposit(self, index: int, proposal_id: int, amount: int) -> None:
        self.send(index, Deposit(proposal_id, amount * COIN))

    @rule(
        index=st.sampled_from([4, 5, 4, 5, 0, 1, 2, 3]),  # validators, who hold most stake
        option=st.sampled_from([*VoteOption, VoteOption.YES, VoteOption.YES]),
        data=st.data(),
    )
    def vote(self, index: int, option: VoteOption, data: st.DataObject) -> None:
        """Mostly on a proposal in its voting period (a random id is rarely one)."""
        voting = [
            record.id
            for record in queries.proposals(self.chain.state.reader)
            if record.status is Status.VOTING_PERIOD
        ]
        proposal_id = data.draw(st.sampled_from([*voting, *voting, *voting, 1, 7]))
        self.send(index, Vote(proposal_id, option))

    @rule(index=st.integers(0, 3), validator=st.integers(0, 1), amount=st.integers(1, 200))
    def bond(self, index: int, validator: int, amount: int) -> None:
        self.send(index, Bond(validator_wallet(validator).address, amount * COIN))

    @rule()
    def empty_block(self) -> None:
        self.chain.run([])

    @invariant()
    def proposals_move_on_in_time(self) -> None:
        height = self.chain.state.height
        for record in queries.proposals(self.chain.state.reader):
            if record.status is Status.PASSED:
                assert record.tally_height == height
            if not record.status.is_open:
                assert queries.deposits(self.chain.state.reader, record.id) == []


TestGovernanceMachine = GovernanceMachine.TestCase
TestGovernanceMachine.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _documented_bound(text: str) -> int:
    """A bound as docs/governance.md writes it: 10,000 or 2^64 − 1 or 10^12."""
    text = text.replace(",", "").replace("−", "-").replace(" ", "")
    base, minus, rest = text.partition("-")
    power, _, exponent = base.partition("^")
    value = int(power) ** int(exponent) if exponent else int(power)
    return value - int(rest) if minus else value


def test_the_documented_parameter_table_matches_the_code() -> None:
    """Operators read the table to write proposals: a parameter added or re-ranged in code
    without its row would send them a number the chain refuses, or none at all."""
    docs = Path(__file__).parents[2] / "docs" / "governance.md"
    rows = re.findall(
        r"^\| (\d+) \| `([a-z_.]+)`[^|]* \| (.+?) – (.+?) \|$", docs.read_text(), re.M
    )
    documented = {
        int(n): (name, _documented_bound(lo), _documented_bound(hi)) for n, name, lo, hi in rows
    }
    expected = {}
    for parameter in Parameter:
        module, field = owner_and_field(parameter)
        low, high = OWNERS[module].ranges[field]
        expected[int(parameter)] = (f"{module}.{field}", low, high)
    assert documented == expected
