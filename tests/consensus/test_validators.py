"""The proposer draw: stake-weighted, deterministic, and without replacement within a cycle of n
rounds, so an absent validator costs a height at most one round."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise

import pytest

from metanode.consensus import constants
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.types import Address


def committee(powers: list[int]) -> ValidatorSet:
    return ValidatorSet.of(
        [
            Validator(
                Address.from_public_key(index.to_bytes(32, "big")),
                power,
                bytes(32),
                bytes(48),
                bytes(32),
            )
            for index, power in enumerate(powers, start=1)
        ]
    )


def stake_distributions() -> list[list[int]]:
    rng = random.Random(15)
    drawn = [
        [rng.randint(1, 10 ** rng.randint(0, 6)) for _ in range(rng.randint(1, 12))]
        for _ in range(30)
    ]
    return [[1], [1, 1], [5, 1], [1, 1, 1, 1], [1, 2, 3, 1], [1000, 1, 1, 1], [1] * 7, *drawn]


def proposers(validators: ValidatorSet, seed: bytes, height: int, rounds: int) -> list[Address]:
    return [validators.proposer(seed, height, r).address for r in range(rounds)]


@pytest.mark.parametrize("powers", stake_distributions(), ids=str)
def test_the_first_n_rounds_of_a_height_have_n_distinct_proposers(powers: list[int]) -> None:
    validators = committee(powers)
    size = len(validators)
    for case in range(40):
        seed, height = case.to_bytes(32, "big"), 1 + case * 7
        drawn = proposers(validators, seed, height, 4 * size + 1)
        for cycle in range(4):
            assert sorted(drawn[cycle * size : (cycle + 1) * size]) == sorted(
                v.address for v in validators.validators
            ), (powers, case, cycle)
        if size > 1:
            assert all(a != b for a, b in pairwise(drawn)), (powers, case)


def test_the_issue_case_an_absent_validator_drawn_for_rounds_0_to_3() -> None:
    """Seed 190 at height 1 drew one of four equal validators for rounds 0, 1, 2 and 3."""
    drawn = proposers(committee([1, 1, 1, 1]), (190).to_bytes(32, "big"), 1, 4)
    assert len(set(drawn)) == 4


def test_the_draw_is_deterministic_whatever_order_rounds_are_asked_in() -> None:
    powers = [3, 1, 4, 1, 5, 9, 2]
    seed = bytes(range(32))
    in_order = proposers(committee(powers), seed, 42, 50)
    scattered = committee(powers)
    asked = list(range(50))
    random.Random(3).shuffle(asked)
    by_round = {r: scattered.proposer(seed, 42, r).address for r in asked}
    assert [by_round[r] for r in range(50)] == in_order
    assert proposers(committee(powers), seed, 43, 50) != in_order  # the height enters the draw


def test_round_zero_is_drawn_by_stake() -> None:
    powers = [1, 2, 3, 4]
    validators = committee(powers)
    draws = 8_000
    counts = Counter(validators.proposer(h.to_bytes(32, "big"), h, 0).power for h in range(draws))
    for power in powers:
        share = counts[power] / draws
        assert abs(share - power / sum(powers)) < 0.03, counts


def test_round_one_is_drawn_by_stake_among_the_others() -> None:
    """Given round 0's proposer i, round 1 draws j ≠ i with chance power_j / (P − power_i)."""
    powers = [1, 2, 3, 4]
    validators = committee(powers)
    pairs = Counter(
        (
            validators.proposer(h.to_bytes(32, "big"), h, 0).power,
            validators.proposer(h.to_bytes(32, "big"), h, 1).power,
        )
        for h in range(12_000)
    )
    for first in powers:
        total = sum(count for (i, _), count in pairs.items() if i == first)
        for second in powers:
            expected = 0.0 if second == first else second / (sum(powers) - first)
            assert abs(pairs[(first, second)] / total - expected) < 0.05, (first, pairs)


def test_any_round_costs_two_cycles_and_the_memo_stays_bounded() -> None:
    validators = committee([1] * 100)
    seed = bytes(32)
    for round_ in range(0, constants.round_max, constants.round_max // 500):
        validators.proposer(seed, 9, round_)
    assert len(validators._cycle_orders) <= constants.proposer_cycles_cached_max
    last = validators.proposer(seed, 9, constants.round_max)
    assert last == committee([1] * 100).proposer(seed, 9, constants.round_max)
