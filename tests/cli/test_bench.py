"""`metanode bench` end to end on a small run: a fresh network of real validator processes,
pre-signed load through the gateways, and a report whose figures hang together."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from metanode.cli.bench import (
    _cpu_seconds,
    _machine_busy_s,
    _wait_ready,
    accepted_in_window,
    compare,
    pair_order,
    start_when_presigned,
)
from metanode.errors import BenchError, ConfigError
from metanode.net.ports import free_port_block
from tests.cli.test_metanode_cli import METANODE, run


def _ab() -> Any:
    spec = importlib.util.spec_from_file_location("ab", Path(__file__).parents[2] / "bench/ab.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURES = re.compile(
    r"^validators=1 tps=(\d+) p50_ms=(\d+) p99_ms=(\d+) limit_tps=(\d+) ratio=([\d.]+) "
    r"rss_mb=(\d+)$"
)


def test_a_short_bench_commits_what_it_offers_and_reports_the_figures_line(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = run(
        "bench",
        "--validators", "1",
        "--duration", "6",
        "--rate", "150",
        "--accounts", "12",
        "--txs", "1200",
        "--out", str(out),
        "--clients-txs-max", "1000",
        timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    figures = FIGURES.match(last)
    assert figures, last
    report = json.loads((out / "report.json").read_text())
    summary = {key: value for key, value in report.items() if not isinstance(value, list)}
    assert report["validators_alive"] == 1, summary
    assert report["clients_txs_max"] == 1000, summary
    # Below capacity everything accepted in the window is committed, and the TPS is near the
    # rate offered (pacing, a 6 s window and a loaded CI machine allow some slack).
    assert report["accepted_in_window"] > 0, summary
    assert report["committed_of_accepted_in_window"] == report["accepted_in_window"], summary
    assert 40 <= report["tps"] <= 200, summary
    assert 0 < report["p50_ms"] <= report["p99_ms"], summary
    assert report["limit_tps"] > 0 and report["ratio"] == report["tps"] / report["limit_tps"]
    assert int(figures.group(1)) == round(report["tps"])
    parsed = _ab().figures(result.stdout)  # bench/ab.py reads these two lines
    assert parsed["tps"] == int(figures.group(1)) and parsed["validators"] == 1
    assert parsed["cores_validators"] == round(report["cores_used_by_validators"], 2)
    assert parsed["validators_cpu_us_per_tx"] == round(report["validators_cpu_us_per_tx"])
    assert 0 < report["cores_used_by_validators"] <= report["cores"] * 1.05, summary
    assert report["cores_used_by_load"] > 0, summary
    assert 0 <= report["cores_used_by_others"] <= report["cores"] * 1.05, summary
    # One validator proposes every height itself: no round ever changes.
    assert report["heights_in_window"] > 0 and report["round_changes_in_window"] == 0, summary
    assert report["validators_cpu_us_per_tx"] == pytest.approx(
        report["cores_used_by_validators"] / report["tps"] * 1e6
    )
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _small_bench(out: Path, validators: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Five seconds of 100 transfers a second from eight accounts."""
    return run(
        "bench",
        "--validators", validators,
        "--duration", "5",
        "--rate", "100",
        "--accounts", "8",
        "--txs", "800",
        "--out", str(out),
        *options,
        timeout=480,
    )  # fmt: skip


@pytest.mark.slow
def test_json_puts_only_the_report_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _small_bench(out, "1", "--clients-txs-max", "1000", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads((out / "report.json").read_text())
    assert printed["validators"] == 1 and printed["tps"] > 0
    assert "t_sign_us=" in result.stderr  # the measured costs, kept off stdout


@pytest.mark.slow  # four networks of two validators, one after the other
def test_compare_links_alternates_the_order_over_pairs_and_gives_the_median_ratio(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = _small_bench(out, "2", "--compare-links", "--pairs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    figures = re.match(
        r"^hybrid_tps=(\d+) classical_tps=(\d+) ratio=([\d.]+) pairs=2 "
        r"ratios=\[([\d.]+),([\d.]+)\]$",
        lines[-1],
    )
    assert figures, lines[-1]
    assert re.match(r"^hybrid_cpu_us_per_tx=\d+ classical_cpu_us_per_tx=\d+ cpu_ratio=", lines[-2])
    pairs = [
        {
            links: json.loads((out / f"pair{n}" / links / "report.json").read_text())
            for links in LINKS
        }
        for n in (1, 2)
    ]
    # Classical first in the first pair, hybrid first in the second; each run its own network.
    assert [[pair[links]["run"] for links in LINKS] for pair in pairs] == [[2, 1], [3, 4]]
    assert all(pair[links]["links"] == links for pair in pairs for links in LINKS)
    assert all(pair[links]["tps"] > 0 for pair in pairs for links in LINKS)
    assert lines[-4].startswith("pair=1 classical_tps=") and lines[-3].startswith(
        "pair=2 hybrid_tps="
    )
    rounds = pairs[0]["classical"]["round_changes_in_window"]
    assert f" classical_round_changes={rounds} " in lines[-4]
    ratios = [pair["hybrid"]["tps"] / pair["classical"]["tps"] for pair in pairs]
    assert [float(figures.group(i)) for i in (4, 5)] == [pytest.approx(r, abs=1e-3) for r in ratios]
    assert float(figures.group(3)) == pytest.approx(sum(ratios) / 2, abs=1e-3)


LINKS = ("hybrid", "classical")


def _run_report(tps: float, cpu_us_per_tx: float) -> dict[str, Any]:
    return {"tps": tps, "validators_cpu_us_per_tx": cpu_us_per_tx}


def test_the_link_comparison_is_the_median_of_the_pairs_ratios() -> None:
    # The third pair's classical run met a burst of other load: the ratio of the medians
    # (1000 / 800) would be 1.25; the median of the pairs' ratios stays with the other two.
    pairs = [
        {"classical": _run_report(1000, 500), "hybrid": _run_report(990, 505)},
        {"hybrid": _run_report(1010, 510), "classical": _run_report(1000, 500)},
        {"classical": _run_report(300, 900), "hybrid": _run_report(1000, 500)},
    ]
    summary = compare(pairs)
    assert summary["ratios"] == [0.99, 1.01, pytest.approx(3.333, abs=1e-3)]
    assert summary["ratio"] == 1.01
    assert summary["hybrid_tps"] == 1000 and summary["classical_tps"] == 1000
    assert summary["cpu_ratios"] == [1.01, 1.02, pytest.approx(0.556, abs=1e-3)]
    assert summary["cpu_ratio"] == 1.01
    assert summary["hybrid_cpu_us_per_tx"] == 505 and summary["classical_cpu_us_per_tx"] == 500


def test_a_pair_whose_classical_run_committed_nothing_has_no_ratio() -> None:
    pairs = [
        {"classical": _run_report(1000, 500), "hybrid": _run_report(990, 505)},
        {"hybrid": _run_report(1010, 510), "classical": _run_report(0, 0)},
    ]
    with pytest.raises(BenchError, match="the classical run of pair 2 committed nothing"):
        compare(pairs)


def test_pairs_alternate_which_links_run_first() -> None:
    assert [pair_order(n) for n in (1, 2, 3, 4)] == [
        ("classical", "hybrid"),
        ("hybrid", "classical"),
        ("classical", "hybrid"),
        ("hybrid", "classical"),
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--compare-links", "--pairs", "0"], "greater than or equal to 1"),
        (["--compare-links", "--pairs", "21"], "less than or equal to 20"),
        (["--pairs", "3"], "--pairs 3: pairs of runs are for --compare-links"),
    ],
)
def test_bad_pairs_are_refused_before_anything_starts(
    tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = run("bench", *options, "--out", str(out))
    assert result.returncode == 2  # a usage error
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def _nodes_under(path: Path) -> list[int]:
    """The node processes whose home is in `path`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_text().split("\0") if proc.name.isdigit() else []
            if "start" in words and str(path) in words[words.index("start") + 2]:
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile
    return found


def test_a_bench_ended_by_sigterm_stops_its_validators(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [
        METANODE, "bench",
        "--validators", "1", "--duration", "60", "--rate", "20",
        "--accounts", "2", "--txs", "40", "--keep", "--out", str(out),
    ]  # fmt: skip
    bench = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _nodes_under(out) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _nodes_under(out), "the validator never started"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(60) != 0
    finally:
        bench.kill()
        bench.wait()
    left = _nodes_under(out)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_a_bad_rate_is_refused_with_a_message_that_names_it(tmp_path: Path) -> None:
    result = run("bench", "--rate", "fast", "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "--rate 'fast'" in result.stdout + result.stderr


def test_a_recording_of_two_link_runs_is_refused_before_anything_starts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    trace = tmp_path / "trace.jsonl"
    result = run("bench", "--compare-links", "--record-trace", str(trace), "--out", str(out))
    assert result.returncode == 2
    assert "--record-trace records one run" in result.stdout + result.stderr
    assert not out.exists() and not trace.exists()


def test_cpu_seconds_count_a_process_and_its_live_children() -> None:
    # The child burns 0.3 s of CPU by its own clock, says so, and stays alive: the figure
    # then holds however loaded the machine is.
    burn = (
        "import time\n"
        "while time.process_time() < 0.3: pass\n"
        "print('burnt', flush=True)\n"
        "time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"burnt\n"
        counted = _cpu_seconds(os.getpid())
        own = time.process_time()
    finally:
        child.kill()
        child.wait()
    assert own <= counted + 0.05  # /proc counts in clock ticks of 10 ms
    assert counted - own >= 0.25
    assert _cpu_seconds(child.pid) == 0.0  # gone


def test_the_machines_busy_time_counts_every_process_on_it() -> None:
    before = _machine_busy_s()
    burnt = time.process_time() + 0.3
    while time.process_time() < burnt:
        pass
    assert _machine_busy_s() - before >= 0.25  # /proc/stat counts in clock ticks of 10 ms


def test_a_network_that_does_not_start_is_reported_validator_by_validator(tmp_path: Path) -> None:
    dead_dir, silent_dir = tmp_path / "v0", tmp_path / "v1"
    dead_dir.mkdir()
    silent_dir.mkdir()
    (dead_dir / "node.log").write_text("starting\nConfigError: port 40001 is in use\n")
    base = free_port_block(2)  # nothing listens there
    dead = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead.wait(10)
        with pytest.raises(ConfigError) as raised:
            _wait_ready(
                [f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"],
                [dead, silent],
                [dead_dir, silent_dir],
                keep=False,
                timeout_s=5,
            )
    finally:
        silent.kill()
        silent.wait()
    message = str(raised.value)
    assert "v0 exited with code 3: ConfigError: port 40001 is in use" in message
    assert "v1 not answering" in message and "--keep keeps the logs" in message


def test_port_blocks_are_free_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(5):
        base = free_port_block(8)
        assert base >= 10_000 and base + 8 <= low
        with contextlib.ExitStack() as stack:
            for port in range(base, base + 8):
                stack.enter_context(socket.socket()).bind(("127.0.0.1", port))


def test_a_clients_bound_above_the_pool_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = run("bench", "--clients-txs-max", "6000", "--out", str(tmp_path / "out"))
    assert result.returncode == 2  # a usage error
    assert "--clients-txs-max" in result.stderr and "must not exceed txs_max" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # refused before the output or a home was made


def test_ab_takes_each_figures_median_over_the_runs_that_printed_it() -> None:
    runs = [{"tps": 1.0, "p50_ms": 9.0}, {"tps": 3.0}, {"tps": 8.0, "p50_ms": 5.0}]
    assert _ab().medians(runs) == {"tps": 3.0, "p50_ms": 7.0}


def test_ab_gives_each_run_its_own_report_directory_unless_out_is_given(tmp_path: Path) -> None:
    ab = _ab()
    assert ab.run_options(["--rate", "max"], tmp_path, "change", 0) == [
        "--rate",
        "max",
        "--out",
        str(tmp_path / "change-1"),
    ]
    assert ab.run_options(["--out", "mine"], tmp_path, "base", 1) == ["--out", "mine"]
    assert ab.run_options(["--out=mine"], tmp_path, "base", 1) == ["--out=mine"]


def test_ab_refuses_a_revision_git_does_not_know_and_leaves_no_worktree(tmp_path: Path) -> None:
    repo = Path(__file__).parents[2]
    # ab.py's worktrees go under TMPDIR: this run's under tmp_path, apart from those of any
    # other ab.py run on the same repository meanwhile (a developer's bench).
    result = subprocess.run(
        [sys.executable, str(repo / "bench/ab.py"), "no-such-revision", "."],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "cannot check out 'no-such-revision'" in result.stderr
    assert "Traceback" not in result.stderr
    listed = subprocess.run(
        ["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert str(tmp_path) not in listed.stdout
    assert not any(tmp_path.iterdir())  # its temporary directory removed too


@pytest.mark.slow
def test_ab_gives_a_revision_its_own_build_of_the_compiled_core(tmp_path: Path) -> None:
    ab = _ab()
    src = ab.checkout("HEAD", tmp_path / "head")
    try:
        imported = subprocess.run(
            [sys.executable, "-c", "from metanode import _core; print(_core.__file__)"],
            env={**os.environ, "PYTHONPATH": str(src)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert imported.stdout.strip() == str(src / "metanode" / "_core.abi3.so")
    finally:
        subprocess.run(
            ["git", "-C", str(ab.REPO), "worktree", "remove", "--force", str(src.parent)],
            check=True,
        )


def _load_spec(gateway: str, per_account: int) -> dict[str, Any]:
    return {
        "bench_seed": "11" * 32,
        "accounts": [0, 4],
        "total_accounts": 4,
        "per_account": per_account,
        "chain_id": "metanode-bench-test",
        "fee": 1_000,
        "expiry_height": 1_000,
        "gateways": [gateway],
        "rate": 0,
        "batch": 8,
        "in_flight": 1,
        "duration_s": 1,
    }


def test_the_load_starts_only_once_every_loader_has_presigned_however_long_that_took(
    tmp_path: Path,
) -> None:
    # A loader held stopped (as a machine busy elsewhere holds it) signs late: the start is
    # given after it is ready, and it sends nothing before the start. Its gateway does not
    # answer, so no transaction is accepted, and the bench says so instead of reporting 0 TPS.
    spec_path = tmp_path / "load0.json"
    spec_path.write_text(json.dumps(_load_spec(f"http://127.0.0.1:{free_port_block(1)}", 6)))
    loader = subprocess.Popen([sys.executable, "-m", "metanode.cli.load", str(spec_path)])
    try:
        os.kill(loader.pid, signal.SIGSTOP)
        time.sleep(1.5)
        os.kill(loader.pid, signal.SIGCONT)
        start = start_when_presigned([spec_path], [loader], timeout_s=60)
        assert loader.wait(60) == 0
    finally:
        loader.kill()
        loader.wait()
    assert Path(f"{spec_path}.ready").stat().st_mtime <= start
    result = json.loads(Path(f"{spec_path}.out.json").read_text())
    assert result["sent"] and all(start <= at for at, _ in result["sent"])
    assert result["verdicts"] == {"gateway_error": result["offered"]}
    with pytest.raises(BenchError) as raised:
        accepted_in_window(result["sent"], result["verdicts"], start, start + 1)
    assert "no transaction was accepted in the measured window" in str(raised.value)
    assert "gateway_error" in str(raised.value)


def test_a_loader_that_dies_before_it_is_ready_stops_the_bench_with_its_exit_code(
    tmp_path: Path,
) -> None:
    spec_path = tmp_path / "load0.json"
    spec_path.write_text("not json")
    loader = subprocess.Popen(
        [sys.executable, "-m", "metanode.cli.load", str(spec_path)], stderr=subprocess.DEVNULL
    )
    with pytest.raises(BenchError, match="load process 0 exited with code 1 before"):
        start_when_presigned([spec_path], [loader], timeout_s=60)
    assert not Path(f"{spec_path}.start").exists()


def test_a_window_with_accepted_transactions_counts_only_those_sent_in_it() -> None:
    sent = [(9.0, ["a"]), (10.0, ["b", "c"]), (12.0, []), (20.0, ["d"])]
    assert accepted_in_window(sent, {"accepted": 4}, 10.0, 20.0) == 2
