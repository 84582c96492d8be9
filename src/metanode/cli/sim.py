"""`metanode sim`: run the deterministic consensus simulator and report safety and liveness."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from metanode.cli import output
from metanode.errors import ConfigError
from metanode.testing.simulator import run_many

FAILURES_SHOWN_MAX = 5


def sim(
    scenarios: Annotated[int, typer.Option(min=1, help="How many scenarios to run.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the first scenario.")] = 1,
    validators: Annotated[
        str, typer.Option(help="Validator count, or a range such as 4..10.")
    ] = "4..10",
    byzantine: Annotated[
        int | None, typer.Option(help="Validators run as Twins (default: up to the threshold).")
    ] = None,
) -> None:
    """Drive real engines through delays, loss, partitions, crashes and Twins; check safety
    at every commit and liveness after the network heals."""
    low, _, high = validators.partition("..")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise ConfigError(f"--validators {validators!r}: expected N or N..M") from None
    if not 1 <= bounds[0] <= bounds[1] <= 64:
        raise ConfigError(f"--validators {validators!r}: expected 1 <= N <= M <= 64")
    started = time.perf_counter()
    summary = run_many(scenarios, seed, bounds, byzantine)
    elapsed = time.perf_counter() - started
    for outcome in summary.failures[:FAILURES_SHOWN_MAX]:
        typer.echo(f"FAILED {outcome.scenario.describe()}")
        for line in outcome.safety_violations[:3]:
            typer.echo(f"  {line}")
        if outcome.liveness_failure:
            typer.echo(f"  LIVENESS: {outcome.liveness_failure}")
        typer.echo("  trace (last events):")
        for line in outcome.trace[-15:]:
            typer.echo(f"    {line}")
    typer.echo(
        f"scenarios={summary.scenarios} safety_violations={summary.safety_violations} "
        f"liveness_failures={summary.liveness_failures} heights={summary.heights} "
        f"seconds={elapsed:.1f}"
    )
    if summary.failures:
        raise typer.Exit(output.FAILED)
