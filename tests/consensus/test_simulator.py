"""The simulator drives real engines: hundreds of seeded fault scenarios must stay safe and
live; with too many Twins the checker must find the fork (so we know it can fail); with f
validators down a height takes at most f + 1 rounds."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from metanode.consensus.certificate import verify_certificate
from metanode.errors import VerificationError
from metanode.testing.model_suite import ModelSuite
from metanode.testing.simulator import (
    Simulation,
    generate,
    measure_stall,
    model_suites,
    run_many,
)
from tests.consensus import SCENARIOS_TIMEOUT_S

METANODE = Path(sys.executable).parent / "metanode"


# The default run simulates the first 30 scenarios of seed 1, with and without set changes;
# `make test-all` all 220 of the three sets below (seed 1's begin with the default run's).
@pytest.mark.parametrize(
    ("seed", "count", "set_changes"),
    [
        (1, 30, False),
        (1, 30, True),
        pytest.param(1, 60, False, marks=pytest.mark.slow),
        pytest.param(2, 60, False, marks=pytest.mark.slow),
        pytest.param(1, 100, True, marks=pytest.mark.slow),
    ],
)
def test_hundreds_of_scenarios_are_safe_and_live(seed: int, count: int, set_changes: bool) -> None:
    summary = run_many(count, seed, set_changes=set_changes)
    failures = [
        (outcome.scenario.describe(), outcome.safety_violations, outcome.liveness_failure)
        for outcome in summary.failures
    ]
    assert summary.safety_violations == 0, failures
    assert summary.liveness_failures == 0, failures
    assert summary.heights > count * 3


def test_sets_change_at_epoch_starts_and_each_certificate_needs_its_height_s_set() -> None:
    scenario = replace(generate(7, (7, 7), 2, set_changes=True), epoch_blocks=2)
    simulation = Simulation(scenario, model_suites, ModelSuite(None))
    outcome = simulation.run()
    assert not outcome.safety_violations and outcome.liveness_failure is None
    chain = simulation.nodes["v6"].chain
    assert len(chain) >= 6
    hashes = [block.header.validator_set_hash for block, _ in chain]
    for height in range(2, len(chain) + 1):
        if height % 2 == 0:  # inside an epoch (E = 2: epochs start at 1, 3, 5…)
            assert hashes[height - 1] == hashes[height - 2]
        else:
            assert hashes[height - 1] != hashes[height - 2]  # one joined or left
    # The set of height 1 does not verify a certificate of a later set.
    first_set = simulation.sets.at(1)
    block, certificate = chain[2]
    verify_certificate(certificate, block.hash(), simulation.sets.at(3), ModelSuite(None))
    with pytest.raises(VerificationError):
        verify_certificate(certificate, block.hash(), first_set, ModelSuite(None))


def test_twins_above_the_threshold_break_safety_and_the_checker_sees_it() -> None:
    summary = run_many(30, 3, validators=(7, 7), byzantine=3)
    assert summary.safety_violations > 0


def test_same_seed_same_run() -> None:
    scenario = generate(12345, (4, 10), None)
    first = Simulation(scenario, model_suites, ModelSuite(None)).run()
    second = Simulation(scenario, model_suites, ModelSuite(None)).run()
    assert first.trace == second.trace
    assert first.heights == second.heights


def sim_cli(*options: str) -> list[str]:
    result = subprocess.run(
        [str(METANODE), "sim", *options], capture_output=True, text=True, timeout=300, check=True
    )
    return result.stdout.strip().splitlines()


def test_cli_prints_the_summary_line_and_is_byte_for_byte_repeatable() -> None:
    options = ("--scenarios", "8", "--seed", "5", "--validators", "4..7")
    first, second = sim_cli(*options), sim_cli(*options)
    assert first[-1].startswith("scenarios=8 safety_violations=0 liveness_failures=0 heights=")
    strip_time = [line.rsplit(" seconds=", 1)[0] for line in first]
    assert strip_time == [line.rsplit(" seconds=", 1)[0] for line in second]


@pytest.mark.parametrize(("validators", "down"), [(4, 1), (7, 2)])
def test_with_f_validators_down_a_height_takes_at_most_f_plus_one_rounds(
    validators: int, down: int
) -> None:
    """The draw takes no proposer twice in a cycle, so at most f rounds go to absent ones; a
    draw with replacement took 5 rounds at f = 1 and 6 at f = 2 over these seeds."""
    stall = measure_stall(20, 15, (validators, validators), down)
    assert [outcome.scenario.describe() for outcome in stall.failures] == []
    assert stall.heights == 20 * 20
    assert stall.rounds_max == down + 1  # some height met every absent validator first


def test_cli_measures_what_absent_validators_cost() -> None:
    (line,) = sim_cli("--down", "1", "--validators", "4", "--scenarios", "3")
    fields = dict(item.split("=") for item in line.split())
    assert fields["scenarios"] == "3" and fields["heights"] == "60" and fields["failures"] == "0"
    assert 1 <= float(fields["rounds_per_height"]) <= float(fields["rounds_max"]) <= 2


@pytest.mark.slow
@pytest.mark.timeout(SCENARIOS_TIMEOUT_S)
def test_two_thousand_scenarios() -> None:
    summary = run_many(2000, 1)
    assert summary.safety_violations == 0
    assert summary.liveness_failures == 0


@pytest.mark.slow
@pytest.mark.timeout(SCENARIOS_TIMEOUT_S)
def test_two_thousand_scenarios_with_set_changes() -> None:
    summary = run_many(2000, 1, set_changes=True)
    assert summary.safety_violations == 0
    assert summary.liveness_failures == 0
