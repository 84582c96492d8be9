"""billing: a LogBlock's commit settles each call of its range from its escrow, pays the
executors that served it less the treasury's share, refunds the rest, and records the epoch's
statements; the expected figures are computed here from issue 17's formulas, independently of
the code under test (state/apps `settlement`, state/poe)."""

from __future__ import annotations

from dataclasses import fields
from fractions import Fraction

import pytest

from metanode.state.apps import queries as apps_queries
from metanode.state.apps.assignment import draw_seed
from metanode.state.apps.records import CallStatus
from metanode.state.apps.rules import ESCROW
from metanode.state.bank import queries as bank_queries
from metanode.state.bank.accounts import TREASURY
from metanode.state.billing import queries
from metanode.state.billing.records import Statement
from metanode.state.codes import OK
from metanode.types import Address, Denom, LogLeaf
from tests.state.support import FEE, Chain, make_genesis
from tests.state.test_notary import (
    APP,
    CALLER,
    CALLS,
    FUEL_LIMIT,
    FUEL_PRICE,
    SUBMITTER,
    VALIDATORS,
    Replicas,
    Submitter,
    deploy_and_call,
    logblock_of,
)

TREASURY_BPS = 1_234
COIN = 10**9
DAY_MS = 86_400_000


@pytest.fixture
def chain() -> Chain:
    parameters = {
        # Epochs of one block: each LogBlock commits in an epoch of its own, so each epoch's
        # statement is one LogBlock's.
        "staking": {"unbonding_delay_blocks": 3, "epoch_blocks": 1},
        "auth": {"treasury_fee_bps": TREASURY_BPS},
    }
    made = Chain(make_genesis(validators=VALIDATORS, parameters=parameters))
    deploy_and_call(made)
    return made


def nex_of(leaves: list[LogLeaf], start: tuple[int, int] | None) -> int:
    """Issue 17 item 4 for one executor's leaves: Φ = Σ wᵢ·(uᵢ/sᵢ), Γ = Φ/(1+Φ), NEX =
    1000·Γ·A with A = 1, in base units, floored. Usage: cpu_ms = fuel / 10⁶; memory_mb_s =
    peak MB × cpu seconds; storage_gb_day = GB held × days until the next receipt; egress_mb =
    output MB; receipts_count."""
    cpu_ms = Fraction(sum(leaf.fuel_used for leaf in leaves), 10**6)
    memory_mb_s = sum(
        (
            Fraction(leaf.peak_memory_bytes, 10**6) * Fraction(leaf.fuel_used, 10**9)
            for leaf in leaves
        ),
        Fraction(0),
    )
    held = ([start] if start else []) + [(leaf.block_time, leaf.state_bytes) for leaf in leaves]
    storage_gb_day = sum(
        (
            Fraction(size, 10**9) * Fraction(held[i + 1][0] - time, DAY_MS)
            for i, (time, size) in enumerate(held[:-1])
        ),
        Fraction(0),
    )
    egress_mb = Fraction(sum(leaf.output_bytes for leaf in leaves), 10**6)
    phi = (
        Fraction(35, 100) * cpu_ms / 1000
        + Fraction(15, 100) * memory_mb_s / 1000
        + Fraction(15, 100) * storage_gb_day / 1
        + Fraction(15, 100) * egress_mb / 10
        + Fraction(20, 100) * len(leaves) / 100
    )
    exact = 1000 * COIN * phi / (1 + phi)
    return exact.numerator // exact.denominator


class Expected:
    """What the flows must be, from issue 17 item 5: fee = fuel used × fuel price from the
    escrow; the treasury's share (floored bps) and the executors' equal split (floored, its
    remainder to the treasury); the unused escrow back to the caller."""

    def __init__(self) -> None:
        self.flx: dict[Address, int] = {}
        self.app = Statement()
        self.executors: dict[Address, Statement] = {}

    def credit(self, address: Address, amount: int) -> None:
        self.flx[address] = self.flx.get(address, 0) + amount

    def call(self, leaves: list[LogLeaf]) -> None:
        fuel = leaves[0].fuel_used
        charge = fuel * FUEL_PRICE
        treasury = charge * TREASURY_BPS // 10_000
        each = (charge - treasury) // len(leaves)
        treasury += charge - treasury - each * len(leaves)
        self.credit(CALLER.address, FUEL_LIMIT * FUEL_PRICE - charge)
        self.credit(ESCROW, -FUEL_LIMIT * FUEL_PRICE)
        self.credit(TREASURY, treasury)
        self.app += Statement(1, fuel, charge, charge - treasury, treasury)
        for leaf in leaves:
            executor = Address.from_public_key(leaf.executor)
            self.credit(executor, each)
            served = Statement(1, fuel, charge, each, treasury)
            self.executors[executor] = self.executors.get(executor, Statement()) + served

    def block_fee(self, proposer: Address) -> None:
        """The LogBlock transaction's own fee: the submitter pays it, the block splits it."""
        treasury = FEE * TREASURY_BPS // 10_000
        self.credit(SUBMITTER.address, -FEE)
        self.credit(TREASURY, treasury)
        self.credit(proposer, FEE - treasury)


def flx(chain: Chain, address: Address) -> int:
    return bank_queries.balance(chain.state.reader, address, Denom.FLX)


def nex(chain: Chain, address: Address) -> int:
    return bank_queries.balance(chain.state.reader, address, Denom.NEX)


def submit_and_check(
    chain: Chain,
    submitter: Submitter,
    leaves: list[LogLeaf],
    first: int,
    last: int,
    starts: dict[bytes, tuple[int, int] | None],
) -> None:
    """Submit the LogBlock of `leaves` and check every flow, the mint and the statements
    against the independent computation; `starts` is each executor's storage start."""
    expected = Expected()
    for seq in range(first, last + 1):
        expected.call([leaf for leaf in leaves if leaf.call_seq == seq])
    expected.block_fee(chain.proposer)
    rewards = {
        Address.from_public_key(key): nex_of(
            [leaf for leaf in leaves if leaf.executor == key], start
        )
        for key, start in starts.items()
    }
    assert all(amount > 0 for amount in rewards.values())
    watched = sorted({*expected.flx, *rewards}, key=lambda address: address.raw)
    flx_before = {address: flx(chain, address) for address in watched}
    nex_before = {address: nex(chain, address) for address in watched}
    minted_before = bank_queries.supply(chain.state.reader, Denom.NEX).minted
    epoch, _seed = draw_seed(chain.state.reader)
    assert submitter.submit(logblock_of(chain, leaves, first, last)) == OK
    for address in watched:
        assert flx(chain, address) - flx_before[address] == expected.flx.get(address, 0), address
        assert nex(chain, address) - nex_before[address] == rewards.get(address, 0), address
    minted = sum(rewards.values())
    assert bank_queries.supply(chain.state.reader, Denom.NEX).minted == minted_before + minted
    statement = queries.app_statement(chain.state.reader, APP, epoch)
    assert statement == expected.app + Statement(minted=minted)
    for executor, served in expected.executors.items():
        statement = queries.executor_statement(chain.state.reader, executor, epoch)
        assert statement == served + Statement(minted=rewards[executor])
    assert queries.app_statement(chain.state.reader, APP, epoch + 1) == Statement()


def test_a_logblock_charges_pays_refunds_and_mints_as_the_formulas_say(chain: Chain) -> None:
    replicas, submitter = Replicas(chain), Submitter(chain)
    first = replicas.leaves(0, 2)
    starts: dict[bytes, tuple[int, int] | None] = {replicas.key(i): None for i in range(2)}
    submit_and_check(chain, submitter, first, 0, 2, starts)
    # A silent replica (executor 1 sent nothing for call 4): the other alone serves it and is
    # paid the whole split; a call that trapped (5) burned its whole limit and pays for it.
    second = replicas.leaves(3, 5, silent=((4, 1),), trap_at=5)
    starts = {leaf.executor: (leaf.block_time, leaf.state_bytes) for leaf in first[-2:]}
    submit_and_check(chain, submitter, second, 3, 5, starts)
    for seq in range(CALLS):
        call = apps_queries.call(chain.state.reader, APP, seq)
        assert call is not None and call.status is CallStatus.SETTLED
    assert flx(chain, ESCROW) == 0


def test_a_disputed_range_bills_nothing(chain: Chain) -> None:
    replicas, submitter = Replicas(chain), Submitter(chain)
    escrow = flx(chain, ESCROW)
    epoch, _seed = draw_seed(chain.state.reader)
    assert submitter.submit(logblock_of(chain, replicas.leaves(0, 2, diverge_at=1), 0, 2)) == OK
    assert flx(chain, ESCROW) == escrow == CALLS * FUEL_LIMIT * FUEL_PRICE
    assert queries.app_statement(chain.state.reader, APP, epoch) == Statement()


def test_statements_add_and_encode_field_by_field_in_their_declared_order() -> None:
    first, second = Statement(1, 2, 3, 4, 5, 6), Statement(10, 20, 30, 40, 50, 60)
    assert [getattr(first, field.name) for field in fields(Statement)] == first.to_wire()
    assert (first + second).to_wire() == [11, 22, 33, 44, 55, 66]
