"""`metanode sim`: run the deterministic consensus simulator and report safety and liveness,
or (`--down F`) measure what F absent validators cost a healthy network."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from metanode.cli import output
from metanode.errors import ConfigError

if TYPE_CHECKING:
    from metanode.testing.simulator import Outcome

FAILURES_SHOWN_MAX = 5
# The summary line's figures with fractions, as people read them (the JSON keeps them whole).
TEXT_FORMATS = {"rounds_per_height": ".3f", "ms_per_height": ".0f", "seconds": ".1f"}


def sim(
    scenarios: Annotated[int, typer.Option(min=1, help="How many scenarios to run.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the first scenario.")] = 1,
    validators: Annotated[
        str, typer.Option(help="Validator count, or a range such as 4..10.")
    ] = "4..10",
    byzantine: Annotated[
        int | None, typer.Option(help="Validators run as Twins (default: up to the threshold).")
    ] = None,
    set_changes: Annotated[
        bool,
        typer.Option(
            "--set-changes",
            help="Change the validator set at epoch boundaries (every 1, 2, 3 or 5 heights by "
            "the scenario's seed, one validator joining or leaving), as the chain does.",
        ),
    ] = False,
    down: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Instead: keep this many validators down in an otherwise healthy network and "
            "print the rounds and simulated ms each height takes (20 heights a scenario).",
        ),
    ] = None,
    as_json: output.Json = False,
) -> None:
    """Drive real engines through delays, loss, partitions, crashes and Twins; check safety
        at every commit and liveness after the network heals (with --set-changes, across validator
    set changes at epoch boundaries). With --down, measure instead what
        absent validators cost: rounds and simulated ms per height."""
    low, _, high = validators.partition("..")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise ConfigError(f"--validators {validators!r}: expected N or N..M") from None
    if not 1 <= bounds[0] <= bounds[1] <= 64:
        raise ConfigError(f"--validators {validators!r}: expected 1 <= N <= M <= 64")
    if down is not None and byzantine is not None:
        raise ConfigError("--down measures absent validators among honest ones: drop --byzantine")
    if down is not None and set_changes:
        raise ConfigError("--down measures a fixed set: drop --set-changes")
    # The simulator loads only for this command, not at every `metanode` start-up.
    from metanode.testing.simulator import measure_stall, run_many  # noqa: PLC0415

    started = time.perf_counter()
    figures: dict[str, int | float]
    with output.progress("scenarios", scenarios, json_output=as_json) as advance:
        if down is not None:
            stall = measure_stall(scenarios, seed, bounds, down, on_scenario=advance)
            figures = {
                "scenarios": stall.scenarios,
                "down": down,
                "heights": stall.heights,
                "rounds_per_height": stall.rounds_per_height,
                "rounds_max": stall.rounds_max,
                "ms_per_height": stall.ms_per_height,
                "failures": len(stall.failures),
            }
            failures = stall.failures
        else:
            summary = run_many(
                scenarios, seed, bounds, byzantine, set_changes=set_changes, on_scenario=advance
            )
            figures = {
                "scenarios": summary.scenarios,
                "safety_violations": summary.safety_violations,
                "liveness_failures": summary.liveness_failures,
                "heights": summary.heights,
            }
            failures = summary.failures
    figures["seconds"] = time.perf_counter() - started
    if as_json:
        output.print_json(figures | {"failed": [f.scenario.describe() for f in failures]})
    else:
        show_failures(failures)
        typer.echo(
            " ".join(f"{key}={value:{TEXT_FORMATS.get(key, '')}}" for key, value in figures.items())
        )
    if failures:
        raise typer.Exit(output.FAILED)


def show_failures(failures: list[Outcome]) -> None:
    for outcome in failures[:FAILURES_SHOWN_MAX]:
        typer.echo(f"FAILED {outcome.scenario.describe()}")
        for line in outcome.safety_violations[:3]:
            typer.echo(f"  {line}")
        if outcome.liveness_failure:
            typer.echo(f"  LIVENESS: {outcome.liveness_failure}")
        typer.echo("  trace (last events):")
        for line in outcome.trace[-15:]:
            typer.echo(f"    {line}")
