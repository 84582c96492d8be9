"""Proof-of-Execution: the golden vector, the formula's shape (hypothesis), the conversions
from leaves to usage, and the parameters in genesis and under governance."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.errors import ConfigError, InvariantViolation
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.poe import params as poe_params
from metanode.state.poe.formula import Usage, gamma, phi, reward_base_units, usage_of
from metanode.types import LogLeaf
from tests.state.support import COIN, Chain, genesis_tree

DEFAULT = poe_params.DEFAULT
GOLDEN = Usage(Fraction(1000), Fraction(500), Fraction(1), Fraction(10), Fraction(100))
FIELDS = ("cpu_ms", "memory_mb_s", "storage_gb_day", "egress_mb", "receipts_count")


def test_golden_vector() -> None:
    value = phi(GOLDEN, DEFAULT)
    assert value == Fraction(925, 1000)
    assert round(float(gamma(value)), 5) == 0.48052
    assert gamma(value) == Fraction(37, 77)
    nex = reward_base_units(GOLDEN, DEFAULT)
    assert nex == 480_519_480_519  # floor(1000 · 10⁹ · 37/77)
    assert round(nex / COIN, 2) == 480.52


def test_adjustment_scales_the_reward() -> None:
    half = replace(DEFAULT, adjustment_ppm=500_000)
    assert reward_base_units(GOLDEN, half) == 240_259_740_259  # floor, not half of the floor
    assert reward_base_units(GOLDEN, replace(DEFAULT, adjustment_ppm=0)) == 0
    assert reward_base_units(Usage(), DEFAULT) == 0


amounts = st.fractions(min_value=0, max_value=10**9, max_denominator=10**6)
usages = st.builds(Usage, amounts, amounts, amounts, amounts, amounts)


@given(usages, st.sampled_from(FIELDS), st.fractions(min_value=0, max_value=10**6))
def test_reward_is_monotone_in_each_usage(usage: Usage, field: str, extra: Fraction) -> None:
    more = replace(usage, **{field: getattr(usage, field) + extra})
    assert phi(more, DEFAULT) >= phi(usage, DEFAULT)
    assert reward_base_units(more, DEFAULT) >= reward_base_units(usage, DEFAULT)


@given(usages)
def test_gamma_stays_below_one_and_the_reward_is_the_floor(usage: Usage) -> None:
    value = gamma(phi(usage, DEFAULT))
    assert 0 <= value < 1
    exact = DEFAULT.reward_coins * COIN * value
    nex = reward_base_units(usage, DEFAULT)
    assert nex <= exact < nex + 1
    assert nex < DEFAULT.reward_coins * COIN


def leaf(seq: int, *, fuel: int, memory: int, output: int, state: int, time: int) -> LogLeaf:
    zero = bytes(32)
    return LogLeaf(zero, zero, seq, zero, zero, fuel, memory, output, state, time)


def test_usage_from_leaves_follows_the_documented_conversions() -> None:
    day = 86_400_000
    leaves = [
        leaf(0, fuel=3_000_000, memory=2_000_000, output=500_000, state=10**9, time=day),
        leaf(1, fuel=1_000_000, memory=4_000_000, output=1_500_000, state=2 * 10**9, time=3 * day),
    ]
    usage = usage_of(leaves, (0, 5 * 10**8), DEFAULT)
    assert usage.cpu_ms == 4  # 4,000,000 fuel at 1,000,000 fuel per ms
    # 2 MB for 3 ms and 4 MB for 1 ms: 6 + 4 MB·ms = 0.01 MB·s
    assert usage.memory_mb_s == Fraction(1, 100)
    # 0.5 GB for the day before the first call, then 1 GB for two days; the last receipt's
    # 2 GB are counted by the next LogBlock.
    assert usage.storage_gb_day == Fraction(5, 2)
    assert usage.egress_mb == 2
    assert usage.receipts_count == 2
    assert usage_of(leaves, None, DEFAULT).storage_gb_day == 2


def test_parameters_are_in_genesis_and_range_checked() -> None:
    assert poe_params.read_params(Chain().state.reader) == DEFAULT
    tree = genesis_tree(parameters={"poe": {"adjustment_ppm": 500_000, "fuel_per_cpu_ms": "7"}})
    document = from_tree(tree)
    chain = Chain(document)
    chosen = replace(DEFAULT, adjustment_ppm=500_000, fuel_per_cpu_ms=7)
    assert poe_params.read_params(chain.state.reader) == chosen
    assert parse_genesis(document.to_json()) == document
    assert export_genesis(chain.state.reader).poe == chosen
    tree["parameters"]["poe"] = {"scale_cpu_ms": 0}
    with pytest.raises(ConfigError, match=r"parameters\.poe\.scale_cpu_ms: must be at least 1"):
        from_tree(tree)
    tree["parameters"]["poe"] = {"weight": 1}
    with pytest.raises(ConfigError, match=r"parameters\.poe"):
        from_tree(tree)
    with pytest.raises(InvariantViolation, match="scale_cpu_ms"):
        replace(DEFAULT, scale_cpu_ms=0)
