"""`metanode bench`: TPS and finality of a real local network, against this machine's limit.

A fresh network of N validator processes (the same code and configuration as `metanode up`),
K funded accounts, transfers pre-signed by separate load processes and then submitted in batches
to every gateway; the load starts when every load process has signed its share, however long the
machine took. The events stream of one validator gives the
commit time of every transaction; the load processes give its submit time. In the same run the
Ed25519 verification time `t_verify` is measured, and the machine's limit is
`cores / (N × t_verify)`: every validator verifies every transaction once. `t_verify` is the
faster of the two implementations, PyNaCl (the reference) and the compiled core, both measured
in the run, so that a faster library raises the limit as well as the figure.

The last line printed is `validators=N tps=… p50_ms=… p99_ms=… limit_tps=… ratio=… rss_mb=…`;
`--out` gets report.json and report.png (committed TPS over time, latency histogram). The line
before it says how many of the machine's cores the validators (with their verification workers)
and the load processes used in the window, and the validators' CPU per committed transaction
(at `--rate max` the cores are saturated and that is simply cores / TPS; below saturation it is
what a transaction costs the network at that rate).

The nodes run on the defaults of `metanode up`; `--clients-txs-max` sets their `[mempool]
clients_txs_max`, the bound on all clients' pending transactions that sets latency at overload.

`--record-trace PATH` makes every validator record what its guard observes (`[guard] record`,
docs/security.md "Recordings") and joins the recordings into PATH; `--attack` runs the
attackers of `metanode.cli.attack` beside the load, and the report names their subjects. With
either, each load process sends from its own loopback address (127.0.0.2 and up), outside the
loopback the guard allows by default, so that the guards see, and score, separate clients: the
load must then stay within a client's allowance (`--rate`, batches of at most 500).
`--compare-links` runs the same bench on hybrid P2P links (X25519 + ML-KEM-768 keys, sealed
frames: the default) and on classical TLS links (`[p2p] hybrid = false`), with the same
accounts and transfers (one seed), `--pairs N` times. Each run has a fresh network and its own
warm-up outside the window. Which kind runs first alternates, classical first in odd pairs, so
that whatever favours one place in the order (the machine's other load drifting, the page
cache) lands on both kinds alike; the figure is the median of the pairs' ratios (hybrid TPS
over classical TPS), which one odd pair does not move. Each pair prints a line as it ends;
the line before the last gives the validators' CPU per committed transaction on both kinds
(medians, and the median of the pairs' ratios): on a machine shared with other work it shows
what the links cost even when the TPS of the two runs of a pair saw different loads. The last
line is `hybrid_tps=… classical_tps=… ratio=… pairs=N ratios=[…]` (the TPS are each kind's
median). Reports go to --out/pairK/hybrid and --out/pairK/classical.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metanode import core
from metanode.crypto import ed25519
from metanode.errors import BenchError, ConfigError
from metanode.net.ports import free_port_block
from metanode.node import logs

from . import output
from .network import launch

if TYPE_CHECKING:
    from metanode.node import config as node_config

    from . import attack as attackers

WARMUP_FRACTION = 0.2  # the first fifth of the run is warm-up, outside the steady window
DRAIN_S = 5.0  # after the load stops, how long commits are still collected
LOAD_PROCESSES = 2
BATCH = 500
BATCHES_PER_S_MIN = 20  # a paced client sends at least this often, so its load is smooth
IN_FLIGHT = 4  # batches outstanding per load process
T_VERIFY_SAMPLES = 3_000
PLOT_BIN_S = 5
START_MARGIN_S = 2.0  # from the last load process ready to the start: they poll for it
# How much slower than measured the load processes may sign before the bench gives up on them:
# they share the machine with the validators, which are idle but starting up.
PRESIGN_SLOWDOWN_MAX = 10
PRESIGN_WAIT_MIN_S = 60.0
RECORDING = "guard-trace.jsonl"  # in each validator's home, with --record-trace
PAIRS_MAX = 20  # --compare-links --pairs: each pair is two networks' runs, a few minutes


def measure_crypto() -> tuple[float, dict[str, float]]:
    """Seconds per Ed25519 signature (PyNaCl, as the load processes sign), and per verification
    by implementation: `pynacl` and, unless METANODE_CORE=python, `rust` (the compiled core),
    as the mempool calls them; on one core, measured now."""
    key = ed25519.PrivateKey.generate()
    items = []
    started = time.perf_counter()
    for _ in range(T_VERIFY_SAMPLES):
        message = secrets.token_bytes(150)
        items.append((key.public_key, message, key.sign(message)))
    t_sign = (time.perf_counter() - started) / T_VERIFY_SAMPLES
    implementations = {"pynacl": ed25519.reference_verify_many}
    compiled = core.native()
    if compiled is not None:
        implementations["rust"] = lambda triples: compiled.verify_many(triples, 1)
    seconds = {}
    for name, verify_many in implementations.items():
        started = time.perf_counter()
        verdicts = verify_many(items)
        seconds[name] = (time.perf_counter() - started) / T_VERIFY_SAMPLES
        if not all(verdicts):
            raise RuntimeError(f"{name} refused a good signature while measuring t_verify")
    return t_sign, seconds


def _rss_peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


_CLOCK_TICKS_S = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its live children (a validator's
    verification workers), from /proc; 0 for a process that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_S
    return own + sum(_cpu_seconds(child) for child in children)


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (every process, the kernel's
    interrupts; not idle, I/O wait or time the hypervisor stole), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    )
    return sum(int(ticks) for ticks in (user, nice, system, irq, softirq)) / _CLOCK_TICKS_S


class _CpuWindow:
    """CPU seconds each group of processes, and the whole machine (`MACHINE`), used in the
    measured window, sampled from /proc by one thread at its start and at its end. The
    window's bounds are wall-clock times because the load processes, which pace themselves,
    share them (`time.time()` is the clock of the client side of the bench, never of a node)."""

    MACHINE = "machine"

    def __init__(self, groups: dict[str, list[int]], start: float, end: float) -> None:
        self._groups = groups
        self.used: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, args=(start, end), daemon=True)
        self._thread.start()

    def _sample(self) -> dict[str, float]:
        used = {name: sum(map(_cpu_seconds, pids)) for name, pids in self._groups.items()}
        return {**used, self.MACHINE: _machine_busy_s()}

    def _run(self, start: float, end: float) -> None:
        time.sleep(max(0.0, start - time.time()))
        first = self._sample()
        time.sleep(max(0.0, end - time.time()))
        self.used = {name: seconds - first[name] for name, seconds in self._sample().items()}

    def join(self) -> None:
        self._thread.join()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _listen(url: str, until: float, commits: dict[str, float], blocks: list) -> None:
    # The clients and the attackers load only for a bench run, not at every `metanode` start-up.
    import asyncio  # noqa: PLC0415

    import websockets  # noqa: PLC0415

    async with websockets.connect(url, max_size=None, open_timeout=10) as stream:
        while time.time() < until:
            try:
                message = await asyncio.wait_for(stream.recv(), max(0.1, until - time.time()))
            except TimeoutError:
                continue
            seen = time.time()
            event = json.loads(message)
            if event["type"] == "block":
                blocks.append((seen, event["height"], event["txs"], event["round"]))
            elif event["type"] == "txs":
                for item in event["txs"]:
                    commits[item["hash"]] = seen
            elif event["type"] == "closed":
                return


def _mempool(clients_txs_max: int) -> node_config.Mempool:
    from pydantic import ValidationError  # noqa: PLC0415 - as in _listen

    from metanode.node import config as node_config  # noqa: PLC0415 - as network.init

    try:
        return node_config.Mempool(clients_txs_max=clients_txs_max)
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"--clients-txs-max: {reason}") from None


def bench(
    validators: Annotated[int, typer.Option(min=1, max=16, help="Validator processes.")] = 4,
    duration: Annotated[int, typer.Option(min=5, help="Seconds of load.")] = 60,
    rate: Annotated[str, typer.Option(help="'max', or transactions per second.")] = "max",
    accounts: Annotated[int, typer.Option(min=2, help="Funded sending accounts.")] = 4_000,
    txs: Annotated[int | None, typer.Option(help="Transfers to pre-sign (default: enough).")] = (
        None
    ),
    out: Annotated[Path, typer.Option(help="Directory for report.json and report.png.")] = (
        Path("bench-out")
    ),
    keep: Annotated[bool, typer.Option(help="Keep the network's home in --out.")] = False,
    clients_txs_max: Annotated[
        int, typer.Option(min=0, help="The nodes' [mempool] clients_txs_max (0: txs_max).")
    ] = 0,
    record_trace: Annotated[
        Path | None,
        typer.Option(help="Record what the validators' guards observe into this file."),
    ] = None,
    attack: Annotated[
        bool, typer.Option(help="Run abusive clients and a rogue peer beside the load.")
    ] = False,
    compare_links: Annotated[
        bool,
        typer.Option(
            help="Run on hybrid links and on classical ones ([p2p] hybrid = false), with the "
            "same seed, --pairs times; reports in --out/pairK/hybrid and --out/pairK/classical."
        ),
    ] = False,
    pairs: Annotated[
        int,
        typer.Option(
            min=1,
            max=PAIRS_MAX,
            help="With --compare-links: pairs of runs, classical first in odd pairs; the "
            "figure is the median of their ratios.",
        ),
    ] = 1,
    as_json: output.Json = False,
) -> None:
    """Start a fresh network, load it with pre-signed transfers, report TPS and latency. With
    --json the report (report.json's figures) is the only thing on stdout; the measured
    signing and verification costs go to stderr. With --compare-links the last line is
    `hybrid_tps=… classical_tps=… ratio=… pairs=N ratios=[…]` (ratio: the median over the
    pairs of hybrid TPS over classical TPS)."""
    if rate != "max" and not (rate.isascii() and rate.isdigit()):
        raise ConfigError(f"--rate {rate!r}: 'max' or a number of transactions per second")
    if pairs != 1 and not compare_links:
        raise ConfigError(f"--pairs {pairs}: pairs of runs are for --compare-links")
    if compare_links and record_trace is not None:
        # Each run joins its validators' recordings into the one file: the second would
        # silently replace the first.
        raise ConfigError("--record-trace records one run: leave it out with --compare-links")
    mempool = _mempool(clients_txs_max)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    out.mkdir(parents=True, exist_ok=True)
    t_sign, t_verify_by = measure_crypto()
    t_verify = min(t_verify_by.values())
    cores = os.cpu_count() or 1
    limit_tps = cores / (validators * t_verify)
    offered_rate = 0 if rate == "max" else int(rate)
    total = txs if txs is not None else int(max(offered_rate, limit_tps) * duration * 1.2)
    per_account = max(1, -(-total // accounts))
    bench_seed = secrets.token_bytes(32)
    measured = " ".join(f"t_verify_{name}_us={t * 1e6:.1f}" for name, t in t_verify_by.items())
    typer.echo(
        f"t_sign_us={t_sign * 1e6:.1f} {measured} t_verify_us={t_verify * 1e6:.1f} "
        f"limit_tps={limit_tps:.0f}; "
        f"{accounts} accounts x {per_account} transfers",
        err=as_json,
    )
    shared = {
        "validators": validators,
        "cores": cores,
        "t_sign_us": t_sign * 1e6,
        "t_verify_us": t_verify * 1e6,
        **{f"t_verify_{name}_us": t * 1e6 for name, t in t_verify_by.items()},
        "limit_tps": limit_tps,
        "rate": rate,
        "accounts": accounts,
        "clients_txs_max": clients_txs_max,
    }
    runs = 0

    def run(directory: Path, links: str) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        report = _measure(
            directory,
            keep,
            validators,
            duration,
            accounts,
            per_account,
            offered_rate,
            t_sign,
            mempool,
            bench_seed,
            links == "hybrid",
            as_json,
            record_trace,
            attack,
        )
        report.update(shared, links=links, run=runs)
        report["ratio"] = report["tps"] / limit_tps
        _write_report(directory, report, duration)
        return report

    if compare_links:
        measured_pairs = []
        for number in range(1, pairs + 1):
            pair = {
                links: run(out / f"pair{number}" / links, links) for links in pair_order(number)
            }
            measured_pairs.append(pair)
            typer.echo(_pair_line(number, pair), err=as_json)
        summary = compare(measured_pairs)
        if as_json:
            typer.echo(json.dumps({**summary, "pairs": measured_pairs}, indent=2))
            return
        typer.echo(
            f"hybrid_cpu_us_per_tx={summary['hybrid_cpu_us_per_tx']:.0f} "
            f"classical_cpu_us_per_tx={summary['classical_cpu_us_per_tx']:.0f} "
            f"cpu_ratio={summary['cpu_ratio']:.3f}"
        )
        ratios = ",".join(f"{ratio:.3f}" for ratio in summary["ratios"])
        typer.echo(
            f"hybrid_tps={summary['hybrid_tps']:.0f} classical_tps={summary['classical_tps']:.0f} "
            f"ratio={summary['ratio']:.3f} pairs={pairs} ratios=[{ratios}]"
        )
        return
    report = run(out, "hybrid")
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(json.dumps(report["verdicts"]))
    typer.echo(
        f"cores used in the window: validators {report['cores_used_by_validators']:.2f}, "
        f"load {report['cores_used_by_load']:.2f} of {cores}; "
        f"validators_cpu_us_per_tx={report['validators_cpu_us_per_tx']:.0f}"
    )
    typer.echo(
        f"validators={validators} tps={report['tps']:.0f} p50_ms={report['p50_ms']:.0f} "
        f"p99_ms={report['p99_ms']:.0f} limit_tps={limit_tps:.0f} ratio={report['ratio']:.2f} "
        f"rss_mb={report['rss_mb']:.0f}"
    )


def _stop_on_sigterm(_signal: int, _frame: object) -> None:
    """A bench ended by SIGTERM (`timeout`, a job's end) unwinds as Ctrl-C does, so that
    `_measure` stops its validators and load processes instead of leaving them to load the
    machine under whatever runs next (a later bench's figures among it)."""
    raise KeyboardInterrupt


def _measure(
    out: Path,
    keep: bool,
    validators: int,
    duration: int,
    accounts: int,
    per_account: int,
    offered_rate: int,
    t_sign: float,
    mempool: node_config.Mempool,
    bench_seed: bytes,
    hybrid: bool,
    as_json: bool,
    record_trace: Path | None,
    attack: bool,
) -> dict[str, Any]:
    """One network's run: its own home and ports, the accounts of `bench_seed`."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as network.init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as network.init

    from . import attack as attackers  # noqa: PLC0415 - as in _listen
    from .load import account_address  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="metanode-bench-", dir=out if keep else None))
    base = free_port_block(2 * validators)
    entries = dev_home.init_dev(
        home,
        validators=validators,
        accounts=0,
        port_base=base,
        api_port_base=base + validators,
        extra_accounts=[account_address(bench_seed, index) for index in range(accounts)],
        mempool=mempool,
    )
    if not hybrid:
        for entry in entries:
            config = node_config.load(entry.config_path)
            p2p = config.p2p.model_copy(update={"hybrid": False})
            entry.config_path.write_text(
                node_config.to_toml(config.model_copy(update={"p2p": p2p}))
            )
    gateways = [f"http://127.0.0.1:{base + validators + i}" for i in range(validators)]
    config_paths = [entry.config_path for entry in entries]
    if record_trace is not None:
        _record_guards(config_paths)
    rogue = None
    if attack:
        rogue = attackers.Rogue(secrets.token_bytes(32), free_port_block(1))
        attackers.admit_rogue(config_paths, rogue, home)
    processes = []
    try:
        for entry in entries:
            processes.append(launch(entry.config_path.parent))
        _wait_ready(gateways, processes, [entry.config_path.parent for entry in entries], keep)
        report = _run_load(
            home,
            gateways,
            bench_seed,
            accounts,
            per_account,
            duration,
            offered_rate,
            t_sign,
            processes,
            as_json,
            apart=record_trace is not None or attack,
            rogue=rogue,
        )
        report["rss_mb"] = max(_rss_peak_mb(process.pid) for process in processes)
        alive = [process.poll() is None for process in processes]
        report["validators_alive"] = sum(alive)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if record_trace is not None:
            _join_recordings(config_paths, record_trace)
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    return report


def _write_report(out: Path, report: dict[str, Any], duration: int) -> None:
    """report.json and report.png in `out`; the timeline and latencies leave the report."""
    timeline = report.pop("timeline")
    latencies = report.pop("latencies_ms")
    window = [item for item in timeline if item[0] >= duration * WARMUP_FRACTION]
    report["heights_in_window"] = len(window)
    # Heights decided only after a round change (a proposal refused, a proposer too slow): at
    # --rate max a few of them, seconds each, and the rest of the machine's load are what make
    # two like runs differ by a factor of two (docs/pq.md "Measured").
    report["round_changes_in_window"] = sum(1 for item in window if item[3] > 0)
    report["txs_per_block_in_window"] = (
        sum(item[2] for item in window) / len(window) if window else 0
    )
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    _plot(out / "report.png", timeline, latencies, report)


def pair_order(number: int) -> tuple[str, str]:
    """The link kinds of pair `number` (from 1) in the order they run: classical first in odd
    pairs, so that over two pairs each kind has run first once."""
    return ("classical", "hybrid") if number % 2 else ("hybrid", "classical")


def compare(pairs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The figures of `--compare-links` from each pair's two reports: medians over the pairs of
    each kind's TPS and CPU per transaction, and of the pairs' own ratios (hybrid over
    classical), so that one pair that ran in a burst of other load does not set the figure."""
    ratios, cpu_ratios = [], []
    for number, pair in enumerate(pairs, start=1):
        hybrid, classical = pair["hybrid"], pair["classical"]
        if not classical["tps"] or not classical["validators_cpu_us_per_tx"]:
            raise BenchError(
                f"the classical run of pair {number} committed nothing in its window: there is "
                f"no ratio to give (its report is in --out/pair{number}/classical)"
            )
        ratios.append(hybrid["tps"] / classical["tps"])
        cpu_ratios.append(
            hybrid["validators_cpu_us_per_tx"] / classical["validators_cpu_us_per_tx"]
        )
    return {
        "hybrid_tps": statistics.median(pair["hybrid"]["tps"] for pair in pairs),
        "classical_tps": statistics.median(pair["classical"]["tps"] for pair in pairs),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "hybrid_cpu_us_per_tx": statistics.median(
            pair["hybrid"]["validators_cpu_us_per_tx"] for pair in pairs
        ),
        "classical_cpu_us_per_tx": statistics.median(
            pair["classical"]["validators_cpu_us_per_tx"] for pair in pairs
        ),
        "cpu_ratio": statistics.median(cpu_ratios),
        "cpu_ratios": cpu_ratios,
    }


def _pair_line(number: int, pair: dict[str, dict[str, Any]]) -> str:
    """What one pair measured, each kind in the order it ran."""
    parts = [f"pair={number}"]
    for links, report in pair.items():
        parts += [
            f"{links}_tps={report['tps']:.0f}",
            f"{links}_heights={report['heights_in_window']}",
            f"{links}_round_changes={report['round_changes_in_window']}",
            f"{links}_cores={report['cores_used_by_validators']:.2f}",
            f"{links}_others_cores={report['cores_used_by_others']:.2f}",
            f"{links}_cpu_us_per_tx={report['validators_cpu_us_per_tx']:.0f}",
        ]
    return " ".join(parts)


def _batch(rate: int) -> int:
    """Transactions per request for a load process offering `rate` per second (0: as fast as
    taken). At low rates a full batch would be one burst a few seconds apart, all of it
    before the steady window opens."""
    if rate == 0:
        return BATCH
    return max(1, min(BATCH, rate // BATCHES_PER_S_MIN))


def _wait_ready(
    gateways: list[str],
    processes: list[subprocess.Popen[bytes]],
    node_dirs: list[Path],
    keep: bool,
    timeout_s: float = 60,
) -> None:
    started = time.monotonic()
    while time.monotonic() < started + timeout_s:
        if min(_height(url) for url in gateways) >= 2:
            return
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.2)
    states = []
    for index, (url, process, node_dir) in enumerate(
        zip(gateways, processes, node_dirs, strict=True)
    ):
        code = process.poll()
        if code is None:
            height = _height(url)
            states.append(
                f"v{index} at height {height}" if height >= 0 else f"v{index} not answering"
            )
            continue
        states.append(f"v{index} exited with code {code}: {logs.last_line(node_dir) or 'no log'}")
    hint = f"the logs are in {node_dirs[0].parent}" if keep else "--keep keeps the logs"
    raise ConfigError(
        f"the bench network did not reach height 2 in {time.monotonic() - started:.0f} s "
        f"({'; '.join(states)}); {hint}"
    )


def _height(gateway: str) -> int:
    """The height a gateway reports, or -1 if it does not answer."""
    import httpx  # noqa: PLC0415 - as in _listen

    try:
        return int(httpx.get(f"{gateway}/api/v1/status", timeout=2).json()["height"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return -1


def _run_load(
    home: Path,
    gateways: list[str],
    bench_seed: bytes,
    accounts: int,
    per_account: int,
    duration: int,
    offered_rate: int,
    t_sign: float,
    processes: list[subprocess.Popen[bytes]],
    as_json: bool,
    *,
    apart: bool,
    rogue: attackers.Rogue | None,
) -> dict[str, Any]:
    """The load processes (and the attackers, with a `rogue`) join `processes`, so that the
    caller ends them with the validators. `apart`: each load process sends from its own
    loopback address."""
    import asyncio  # noqa: PLC0415 - as in _listen

    import httpx  # noqa: PLC0415 - as in _listen

    from . import attack as attackers  # noqa: PLC0415

    validator_pids = [process.pid for process in processes]
    status = httpx.get(f"{gateways[0]}/api/v1/status", timeout=5).json()
    share = -(-accounts // LOAD_PROCESSES)
    specs = []
    loaders = []
    for index in range(LOAD_PROCESSES):
        first, last = index * share, min(accounts, (index + 1) * share)
        spec_path = home / f"load{index}.json"
        spec = {
            "bench_seed": bench_seed.hex(),
            "accounts": [first, last],
            "total_accounts": accounts,
            "per_account": per_account,
            "chain_id": status["chain_id"],
            "fee": 1_000,
            "expiry_height": status["height"] + 1_000_000,
            "gateways": gateways[index % len(gateways) :] + gateways[: index % len(gateways)],
            "rate": offered_rate // LOAD_PROCESSES,
            "batch": _batch(offered_rate // LOAD_PROCESSES),
            "in_flight": IN_FLIGHT,
            "duration_s": duration,
            "source": _load_source(index) if apart else None,
        }
        specs.append((spec_path, spec))
    for spec_path, spec in specs:
        spec_path.write_text(json.dumps(spec))
        loaders.append(
            subprocess.Popen([sys.executable, "-m", "metanode.cli.load", str(spec_path)])
        )
    processes.extend(loaders)
    waited = [spec_path for spec_path, _ in specs]
    attacks: list[tuple[Path, subprocess.Popen[bytes]]] = []
    if rogue is not None:
        spec = _attack_spec(home, status, gateways, duration, rogue)
        # The rogue peer in a process of its own: among the many requests of the others its
        # link handshakes would time out on a busy machine.
        for part in attackers.PARTS:
            attack_path = home / f"attack-{part}.json"
            attack_path.write_text(json.dumps({**spec, "part": part}))
            command = [sys.executable, "-m", "metanode.cli.attack", str(attack_path)]
            attacks.append((attack_path, subprocess.Popen(command)))
        processes.extend(process for _, process in attacks)
        waited.extend(path for path, _ in attacks)
    start = start_when_presigned(
        waited,
        loaders + [process for _, process in attacks],
        max(PRESIGN_WAIT_MIN_S, per_account * share * t_sign * PRESIGN_SLOWDOWN_MAX),
    )
    window_start = start + duration * WARMUP_FRACTION
    window_end = start + duration
    cpu = _CpuWindow(
        {"validators": validator_pids, "load": [loader.pid for loader in loaders]},
        window_start,
        window_end,
    )
    commits: dict[str, float] = {}
    blocks: list[tuple[float, int, int]] = []
    events_url = gateways[0].replace("http", "ws") + "/api/v1/events"
    with output.progress(f"pre-signing, {duration} s of load, then draining", json_output=as_json):
        asyncio.run(_listen(events_url, start + duration + DRAIN_S, commits, blocks))
    for loader in loaders:
        loader.wait(120)
    guard: dict[str, Any] = {}
    if apart:
        guard["honest_clients"] = [f"client:{_load_source(i)}" for i in range(LOAD_PROCESSES)]
    if rogue is not None:
        answers: dict[str, dict[str, int]] = {}
        for attack_path, process in attacks:
            process.wait(120)
            answers.update(json.loads(Path(f"{attack_path}.out.json").read_text())["answers"])
        guard.update(attackers=attackers.subjects(rogue), attack_answers=answers)
    cpu.join()
    sent: list[tuple[float, list[str]]] = []
    verdicts: dict[str, int] = {}
    for spec_path, _ in specs:
        result = json.loads(Path(str(spec_path) + ".out.json").read_text())
        sent += [(at, hashes) for at, hashes in result["sent"]]
        for reason, count in result["verdicts"].items():
            verdicts[reason] = verdicts.get(reason, 0) + count
    in_window = [at for at in commits.values() if window_start <= at < window_end]
    tps = len(in_window) / (window_end - window_start)
    latencies = [
        (commits[tx_hash] - at) * 1000
        for at, hashes in sent
        if window_start <= at < window_end
        for tx_hash in hashes
        if tx_hash in commits
    ]
    submitted_in_window = accepted_in_window(sent, verdicts, window_start, window_end)
    timeline = [(at - start, height, count, round_) for at, height, count, round_ in blocks]
    window_s = window_end - window_start
    validators_cpu_s = cpu.used.get("validators", 0.0)
    return {
        "tps": tps,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "committed_total": len(commits),
        "accepted_in_window": submitted_in_window,
        "committed_of_accepted_in_window": len(latencies),
        "verdicts": dict(sorted(verdicts.items())),
        "duration_s": duration,
        "window_s": window_s,
        # Where the machine's cores went in the window: the validators with their verification
        # workers, and the load processes (which share the machine); and the validators' CPU
        # per committed transaction (at --rate max simply cores / TPS).
        "cores_used_by_validators": validators_cpu_s / window_s,
        "cores_used_by_load": cpu.used.get("load", 0.0) / window_s,
        # The rest of the machine's busy time: other work on a shared machine, which the
        # validators competed with (--compare-links prints it for each run, to judge a pair).
        "cores_used_by_others": max(
            0.0,
            (cpu.used.get(_CpuWindow.MACHINE, 0.0) - validators_cpu_s - cpu.used.get("load", 0.0))
            / window_s,
        ),
        "validators_cpu_us_per_tx": validators_cpu_s / len(in_window) * 1e6 if in_window else 0.0,
        "timeline": timeline,
        "latencies_ms": latencies,
        **({"guard": guard} if guard else {}),
    }


def _load_source(index: int) -> str:
    return f"127.0.0.{2 + index}"


def _attack_spec(
    home: Path, status: dict[str, Any], gateways: list[str], duration: int, rogue: attackers.Rogue
) -> dict[str, Any]:
    """What the attackers need; the validators' node ids, ports and certificates as their
    peers' configs name them."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as network.init

    from . import attack as attackers  # noqa: PLC0415 - as in _listen

    validators: dict[str, list[Any]] = {}
    request_bytes_max = 0
    for path in sorted(home.glob("nodes/*/config.toml")):
        config = node_config.load(path)
        request_bytes_max = config.api.request_bytes_max
        for peer in config.p2p.peers:
            if peer.name != attackers.ROGUE:
                certificate = node_config.resolve(path, peer.certificate)
                validators[peer.node_id] = [peer.node_id, peer.port, str(certificate)]
    return {
        "chain_id": status["chain_id"],
        "expiry_height": status["height"] + 1_000_000,
        "gateways": gateways,
        "request_bytes_max": request_bytes_max,
        "validators": sorted(validators.values()),
        "rogue_seed": rogue.seed.hex(),
        "rogue_port": rogue.port,
        "duration_s": duration,
    }


def _record_guards(config_paths: list[Path]) -> None:
    from metanode.node import config as node_config  # noqa: PLC0415 - as network.init

    for path in config_paths:
        config = node_config.load(path)
        guard = config.guard.model_copy(update={"record": RECORDING})
        path.write_text(node_config.to_toml(config.model_copy(update={"guard": guard})))


def _join_recordings(config_paths: list[Path], into: Path) -> None:
    """The validators' recordings, one section each, in one file (guard/record.py)."""
    into.parent.mkdir(parents=True, exist_ok=True)
    with into.open("w", encoding="utf-8") as joined:
        for path in config_paths:
            recorded = path.parent / RECORDING
            if recorded.exists():
                joined.write(recorded.read_text(encoding="utf-8"))


def start_when_presigned(
    spec_paths: list[Path], loaders: list[subprocess.Popen[bytes]], timeout_s: float
) -> float:
    """Wait until every load process has written SPEC.ready, then give them all one start time
    in SPEC.start (written whole, then renamed, so that no process reads half of it)."""
    deadline = time.monotonic() + timeout_s
    while not all(Path(f"{path}.ready").exists() for path in spec_paths):
        for index, loader in enumerate(loaders):
            code = loader.poll()
            if code is not None:
                raise BenchError(
                    f"load process {index} exited with code {code} before it had pre-signed "
                    "its transfers"
                )
        if time.monotonic() > deadline:
            raise BenchError(
                f"the load processes had not pre-signed their transfers after {timeout_s:.0f} s, "
                f"{PRESIGN_SLOWDOWN_MAX} times the time signing took when measured; the machine "
                "is too busy, or --txs asks for too many"
            )
        time.sleep(0.05)
    start = time.time() + START_MARGIN_S
    for path in spec_paths:
        written = Path(f"{path}.start.part")
        written.write_text(repr(start))
        written.replace(f"{path}.start")
    return start


def accepted_in_window(
    sent: list[tuple[float, list[str]]],
    verdicts: dict[str, int],
    window_start: float,
    window_end: float,
) -> int:
    """The transactions the gateways accepted in the measured window. None is no measurement: a
    TPS of 0 would read as the network's figure when the load never reached it."""
    accepted = sum(len(hashes) for at, hashes in sent if window_start <= at < window_end)
    if accepted == 0:
        attempts = sum(1 for at, _ in sent if window_start <= at < window_end)
        raise BenchError(
            f"no transaction was accepted in the measured window ({attempts} batches sent in it, "
            f"{len(sent)} in all; the gateways' verdicts: {json.dumps(verdicts)}): there is "
            "nothing to measure"
        )
    return accepted


def _plot(path: Path, timeline: list, latencies: list[float], report: dict[str, Any]) -> None:
    import matplotlib  # noqa: PLC0415 - plotting libraries load only for the report

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    # Blocks land every second or two: committed TPS is shown per 5-second bin.
    bins: dict[int, int] = {}
    for at, _height, count, _round in timeline:
        if at >= 0:
            bins[int(at) // PLOT_BIN_S] = bins.get(int(at) // PLOT_BIN_S, 0) + count
    last = max(bins, default=0)
    xs = [index * PLOT_BIN_S for index in range(last + 1)]
    left.plot(xs, [bins.get(i, 0) / PLOT_BIN_S for i in range(last + 1)], drawstyle="steps-post")
    left.set_xlabel("seconds since load start")
    left.set_ylabel("committed transactions per second")
    left.set_title(f"{report['validators']} validators: {report['tps']:.0f} TPS (steady)")
    right.hist(latencies, bins=50)
    right.set_xlabel("submit → commit latency (ms)")
    right.set_ylabel("transactions")
    right.set_title(f"p50 {report['p50_ms']:.0f} ms, p99 {report['p99_ms']:.0f} ms")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
