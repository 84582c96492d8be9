"""Admission that follows the commit rate (mempool/rate.py): the bound on what a node's clients
may hold pending, from the blocks the chain committed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.errors import InvariantViolation
from metanode.mempool.rate import CommitRate


def test_a_quiet_chain_gets_the_floor_and_a_busy_one_blocks_of_its_commit_rate() -> None:
    rate = CommitRate(blocks=4, window_blocks=3, txs_min=100)
    assert rate.bound() == 100  # no block yet
    for txs, time_ms in ((0, 1_000), (600, 2_000), (900, 3_000)):
        rate.committed(txs, time_ms)
    assert rate.per_block() == 500 and rate.bound() == 2_000
    rate.validators = 4  # each node's clients take a quarter of the chain's rate
    assert rate.bound() == 500
    assert rate.room(pending=480) == 20 and rate.room(pending=900) == 0


def test_only_the_window_counts_so_an_idle_spell_brings_the_bound_back_to_the_floor() -> None:
    rate = CommitRate(blocks=2, window_blocks=2, txs_min=10)
    rate.committed(1_000, 0)
    assert rate.bound() == 2_000
    rate.committed(0, 1_000)
    rate.committed(0, 2_000)
    assert rate.per_block() == 0 and rate.bound() == 10


def test_retry_after_is_the_mean_block_interval_rounded_up_and_at_least_a_second() -> None:
    rate = CommitRate(blocks=1, window_blocks=4, txs_min=1)
    assert rate.retry_after_s() == 1  # no interval seen yet
    rate.committed(5, 10_000)
    rate.committed(5, 10_300)
    assert rate.retry_after_s() == 1
    rate.committed(5, 13_300)  # intervals 300 and 3,000 ms: mean 1,650
    assert rate.retry_after_s() == 2


@pytest.mark.parametrize(
    ("blocks", "window", "floor"),
    [(0, 1, 1), (1, 0, 1), (1, 1, 0)],
    ids=["blocks", "window", "floor"],
)
def test_a_bound_that_could_never_admit_is_refused(blocks: int, window: int, floor: int) -> None:
    with pytest.raises(InvariantViolation, match="must be at least 1"):
        CommitRate(blocks, window, floor)


@given(
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 10_000)), max_size=40),
    st.integers(1, 8),
    st.integers(1, 100),
    st.integers(0, 100_000),
)
def test_the_bound_is_the_floor_or_blocks_of_the_windows_mean_and_room_never_negative(
    blocks_seen: list[tuple[int, int]], validators: int, window: int, pending: int
) -> None:
    rate = CommitRate(blocks=3, window_blocks=window, txs_min=50)
    rate.validators = validators
    time_ms = 0
    for txs, gap_ms in blocks_seen:
        time_ms += gap_ms
        rate.committed(txs, time_ms)
    recent = [txs for txs, _ in blocks_seen][-window:]
    mean = sum(recent) // len(recent) if recent else 0
    assert rate.bound() == max(50, 3 * mean // validators)
    assert rate.room(pending) == max(0, rate.bound() - pending)
    assert rate.retry_after_s() >= 1
