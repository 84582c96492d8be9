"""`metanode testnet --netns`: a dev network whose validators are hosts of their own (network
namespaces on a bridge), a seeded fault schedule played against it under a stream of
transfers, and the checks after it; the last line is the figure line
`scenarios=… forks=… lost_committed=… max_recovery_s=… …` (docs/testnet.md).

Exit codes: 0 every check held; 1 a fork, a lost committed transaction, a supply that does
not hold, a block proposed and committed while no side of a partition held a quorum, a
validator that had not answered or caught up when the checks ran, or a heal after which
liveness did not come back within --recovery-bound; 2 a usage
error (not root, a home that exists, an unknown fault kind)."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from metanode.cli import output
from metanode.errors import ConfigError
from metanode.node import logs
from metanode.testnet import faults

if TYPE_CHECKING:
    from metanode.testnet.run import Network

log = logging.getLogger("metanode.testnet")
START_TIMEOUT_S = 180.0
CATCH_UP_S = 120.0
SAMPLE_S = 30.0
CAPACITY_S = 30.0  # waves of transfers, each committed before the next


def testnet(
    netns: Annotated[
        bool, typer.Option("--netns", help="One network namespace per validator (root).")
    ] = False,
    validators: Annotated[int, typer.Option(min=4, max=16, help="Validators.")] = 4,
    scenarios: Annotated[int, typer.Option(min=0, max=1000, help="Fault scenarios.")] = 8,
    seed: Annotated[int, typer.Option(help="The fault schedule's seed.")] = 1,
    kinds: Annotated[
        str,
        typer.Option(help=f"Comma-separated fault kinds (default all: {','.join(faults.KINDS)})."),
    ] = ",".join(faults.KINDS),
    only: Annotated[
        str,
        typer.Option(
            help="Comma-separated kinds: of the schedule drawn with --kinds, play only these "
            "(a seed's faults of one kind again, on the same hosts).",
        ),
    ] = "",
    recovery_bound: Annotated[
        float, typer.Option(min=1, help="Seconds liveness may take to return after a heal.")
    ] = 30.0,
    soak: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds of fault-free load after the scenarios, "
            "sampling each validator's RSS and open files.",
        ),
    ] = 0.0,
    pace: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="Offer transfers at this share of the capacity measured at the start "
            "(0: one client waiting out each transfer).",
        ),
    ] = 0.0,
    home: Annotated[Path, typer.Option(help="A new directory for the network.")] = Path(
        ".metanode-testnet"
    ),
    tag: Annotated[int, typer.Option(min=0, max=255, help="Names and subnet 10.231.TAG.0/24.")] = 7,
    keep: Annotated[bool, typer.Option(help="Keep the home afterwards (logs, stores).")] = True,
    as_json: output.Json = False,
) -> None:
    """Run a dev network on hosts of its own, play the fault schedule of --seed against it
    while transfers stream through the gateways, then check: no fork at any height, every
    transaction a gateway acknowledged committed is in every chain, the supply held, and
    liveness back within --recovery-bound after each heal."""
    # The testnet's machinery (the store, the node's modules) loads only for this command, not
    # at every `metanode` start-up.
    from metanode.testnet import pace as pace_load  # noqa: PLC0415
    from metanode.testnet.fabric import NONE, Fabric  # noqa: PLC0415
    from metanode.testnet.run import (  # noqa: PLC0415
        Load,
        Network,
        Report,
        caught_up,
        check_stores,
        play,
        running,
        spending_keys,
    )

    if not netns:
        raise ConfigError("only --netns is built: give --netns (and run as root)")
    chosen = _kinds("--kinds", kinds)
    played = _kinds("--only", only) if only else chosen
    if (home / "net").exists():
        raise ConfigError(f"{home} already holds a network (net/); give a new --home")
    fabric = Fabric(tag, validators, logs=home)
    home.mkdir(parents=True, exist_ok=True)
    report = Report()
    logs.setup(home, "info", file_bytes_max=64 * 1024 * 1024, files_max=2, console=not as_json)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns the run
    # SIGTERM (a supervisor, `kill`, a CI timeout) ends the run as Ctrl-C does, through the
    # `finally` below: Python's default would leave the nodes running and the namespaces up.
    signal.signal(signal.SIGTERM, _interrupted)
    fabric.create()
    try:
        report.shaping = fabric.choose_shaping()
        if report.shaping != NONE:
            runnable = chosen
        else:
            runnable = tuple(kind for kind in chosen if kind not in faults.SHAPED)
            report.skipped = sorted(set(chosen) & faults.SHAPED)
            log.warning("no netem and no iptables here: latency and loss faults left out")
        if not runnable:
            raise ConfigError("--kinds: none of these faults can run here (no netem, no iptables)")
        drawn = faults.schedule(seed, scenarios, validators, runnable)
        schedule = [fault for fault in drawn if fault.kind in played]
        network = Network.init(
            home / "net", fabric, accounts=pace_load.PACED_ACCOUNTS if pace else 10
        )
        samples: list[dict[str, int]] = []
        paced = ""
        with running(network, START_TIMEOUT_S):
            load: Load
            if pace:
                keys = spending_keys(network.home)
                capacity = pace_load.measure_capacity(
                    network, keys[: pace_load.CAPACITY_ACCOUNTS], CAPACITY_S
                )
                load = pace_load.PacedLoad(network, capacity.tps * pace)
                paced = f" capacity_tps={capacity.tps:.1f} paced_tps={capacity.tps * pace:.1f}"
            else:
                load = Load(network)
            with load:
                for fault in schedule:
                    play(network, fault, recovery_bound, report)
                if soak:
                    samples = _soak(network, soak)
            caught_up(network, report, CATCH_UP_S)
        check_stores(home / "net", validators, load.acknowledged, report)
    finally:
        fabric.destroy()
        if not keep:
            shutil.rmtree(home / "net", ignore_errors=True)
    if isinstance(load, pace_load.PacedLoad):
        paced += (f" offered={load.offered} admitted={load.admitted} refused={load.refused}"
                  f" settles={load.settles} held={load.held}")  # fmt: skip
    figures = report.line() + paced + (soak_figures(samples) if soak else "")
    if as_json:
        output.print_json({**report.__dict__, "figures": figures})
    else:
        typer.echo(figures)
    if (
        report.forks
        or report.lost_committed
        or report.not_recovered
        or report.supply_violations
        or report.committed_without_quorum
        or report.unchecked
    ):
        raise typer.Exit(output.FAILED)


def _kinds(option: str, given: str) -> tuple[str, ...]:
    chosen = tuple(kind.strip() for kind in given.split(",") if kind.strip())
    unknown = sorted(set(chosen) - set(faults.KINDS))
    if unknown or not chosen:
        raise ConfigError(f"{option}: unknown {', '.join(unknown) or 'none given'}; "
                          f"choose among {', '.join(faults.KINDS)}")  # fmt: skip
    return chosen


def _interrupted(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _soak(network: Network, seconds: float) -> list[dict[str, int]]:
    """Every SAMPLE_S, each validator's resident memory (KiB), the anonymous part of it (the
    heap: what a leak grows; the rest is mapped files, LMDB's pages among them, which grow
    with the chain) and its open file descriptors."""
    samples = []
    ends = time.monotonic() + seconds
    while True:
        for index, process in sorted(network.processes.items()):
            status = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
            )
            fds = len(list(Path(f"/proc/{process.pid}/fd").iterdir()))
            samples.append({
                "node": index,
                "rss_kib": int(status["VmRSS"].split()[0]),
                "anon_kib": int(status["RssAnon"].split()[0]),
                "fds": fds,
            })  # fmt: skip
        log.info("soak sample", extra={"samples": json.dumps(samples[-len(network.processes) :])})
        if time.monotonic() >= ends:
            return samples
        time.sleep(min(SAMPLE_S, max(0.0, ends - time.monotonic())))


def soak_figures(samples: list[dict[str, int]]) -> str:
    """The growth of the validator that grew most, first sample to last, and from the middle
    sample to the last: a process's memory rises while its caches and pools fill, so whether
    it stays flat is the second half's figure. `anon` is the heap alone: resident memory also
    counts the pages of LMDB's map read so far, which grow with the chain, not with a leak."""
    nodes = sorted({sample["node"] for sample in samples})
    series = {node: [s for s in samples if s["node"] == node] for node in nodes}

    def growth(field: str, start: int) -> int:
        return max(s[-1][field] * 100 // s[start][field] - 100 for s in series.values())

    def fds_growth(start: int) -> int:
        return max(s[-1]["fds"] - s[start]["fds"] for s in series.values())

    count = len(series[nodes[0]])
    middle = count // 2
    return (
        f" soak_samples={count} rss_growth_pct={growth('rss_kib', 0)} fds_growth={fds_growth(0)}"
        f" rss_growth_late_pct={growth('rss_kib', middle)} fds_growth_late={fds_growth(middle)}"
        f" anon_growth_pct={growth('anon_kib', 0)}"
        f" anon_growth_late_pct={growth('anon_kib', middle)}"
    )
