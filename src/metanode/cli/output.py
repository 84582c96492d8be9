"""How every command of `metanode` and `bpi` exits and shows amounts; one rule for all.

Exit codes:
- 0 (`OK`): the command did what was asked.
- 1 (`FAILED`): it ran, and the outcome is a failure: a gateway refused or could not be
  reached, a transaction failed, a replay diverged, a run stopped short of `ok`, a store does
  not re-execute to what it holds, a key file cannot be opened.
- 2 (`USAGE`): what the person gave cannot be used: an unknown option, a malformed value or
  address, a configuration file that is not valid TOML or names a bad value. Nothing was done.

Amounts: people read whole coins with the unit (`2.5 FLX`), computed from base units (9
decimals) with integers only. Base units appear only in fields that say so
(`*_base_units`, or the gateway's fields, which are documented as base units). `--json`
prints one JSON document on stdout and nothing else there.

Progress: a long command shows a rich progress bar on stderr (`progress`), only when both
stdout and stderr are terminals and it was not asked for `--json`, so that nothing a script
reads or a log keeps carries a bar.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from metanode.errors import ConfigError, DecodeError, MetanodeError
from metanode.types import constants as types_constants
from metanode.types.messages import BASE_UNITS_PER_COIN, coins

OK = 0
FAILED = 1
USAGE = 2

# Every command that prints data takes it (tests/cli/test_json_everywhere.py checks).
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def exit_code(error: MetanodeError) -> int:
    """Bad input a person typed or pointed at is a usage error; anything else failed."""
    return USAGE if isinstance(error, ConfigError | DecodeError) else FAILED


def run(app: typer.Typer, name: str) -> None:
    """Run a Typer app; a deliberate error is one line on stderr and its exit code."""
    try:
        app()
    except MetanodeError as error:
        typer.echo(f"{name}: {error}", err=True)
        sys.exit(exit_code(error))


def tokens(base_units: int, denom: str) -> str:
    """What a person reads: `2.5 FLX`."""
    return f"{coins(base_units)} {denom}"


def parse_coins(text: str) -> int:
    """`12`, `0.5` (at most 9 decimals) as base units, exactly, never through a float."""
    whole, _, fraction = text.strip().partition(".")
    decimals = types_constants.decimals
    if (
        not (whole + fraction).isascii()
        or not whole.isdigit()
        or (fraction and not fraction.isdigit())
        or len(fraction) > decimals
    ):
        raise ConfigError(f"amount {text!r}: expected coins such as 12 or 0.5 (≤ 9 decimals)")
    return int(whole) * BASE_UNITS_PER_COIN + int(fraction.ljust(decimals, "0") or "0")


def write_atomically(path: Path, data: bytes) -> None:
    """`data` in `path` whole or not at all: written beside it, synced, then renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def print_json(data: Any) -> None:
    """`--json`: one JSON document, alone on stdout."""
    typer.echo(json.dumps(data))


class Advance(Protocol):
    """Count `steps` more done; `total` corrects the whole when it is learnt late."""

    def __call__(self, steps: int = 1, total: int | None = None) -> None: ...


def _no_progress(steps: int = 1, total: int | None = None) -> None:
    """Where no bar is shown, a step is counted by nobody."""


@contextmanager
def progress(
    description: str,
    total: int | None = None,
    *,
    json_output: bool = False,
    console: Console | None = None,
) -> Iterator[Advance]:
    """A progress bar on stderr while the block runs; yields `advance(steps)`. `total` None is
    a wait of unknown length: a spinner with the time elapsed. Shown only on a terminal and
    never with `--json`; `console` (a test's `Console(force_terminal=True)`) replaces the
    check of stdout and stderr."""
    if console is None:
        console = Console(stderr=True)
        shown = sys.stdout.isatty() and console.is_terminal
    else:
        shown = console.is_terminal
    if json_output or not shown:
        yield _no_progress
        return
    columns = (
        [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
        if total is None
        else [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1, total: int | None = None) -> None:
            bar.update(task, advance=steps, total=total)

        yield advance
