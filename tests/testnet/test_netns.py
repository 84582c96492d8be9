"""`metanode testnet --netns`: the seeded fault schedule, the namespaces with their partitions
(real `ip`, as root), and behind `-m slow` a whole run of real validators through a majority
partition, a kill -9 and a SIGSTOP, checked for forks, lost transactions and liveness."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.cli.testnet import soak_figures
from metanode.state.store import Store
from metanode.testnet import faults
from metanode.testnet.delay import Delayer
from metanode.testnet.fabric import IPTABLES, NETEM, NONE, Fabric, run_ip
from metanode.testnet.pace import WINDOW, within_windows
from metanode.testnet.run import (
    COMMITTED,
    IN_FLIGHT,
    STALLED,
    Report,
    check_stores,
    quorum_side,
    stall_verdict,
)
from tests.state.support import make_genesis
from tests.state.test_store import commit_block, transfers

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="network namespaces need root and ip"
)


@given(seed=st.integers(0, 2**32), hosts=st.integers(4, 16))
def test_a_seed_names_one_schedule_and_every_partition_splits_the_hosts(
    seed: int, hosts: int
) -> None:
    schedule = faults.schedule(seed, 16, hosts)
    assert schedule == faults.schedule(seed, 16, hosts)
    assert {fault.kind for fault in schedule} == set(faults.KINDS)
    quorum = hosts - (hosts - 1) // 3
    for fault in schedule:
        assert faults.HOLD_S[0] <= fault.hold_s <= faults.HOLD_S[1]
        if fault.kind.startswith("partition"):
            flat = [host for group in fault.groups for host in group]
            assert sorted(flat) == list(range(hosts))
        if fault.kind == "partition-majority":
            assert all(len(group) < quorum for group in fault.groups)  # liveness must stop
            assert fault.stops_liveness
        if fault.kind == "partition-minority":
            assert max(len(group) for group in fault.groups) >= quorum


def test_a_schedule_refuses_too_few_hosts_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="at least 4 validators"):
        faults.schedule(1, 3, 3)
    with pytest.raises(ValueError, match="fault kinds must be among"):
        faults.schedule(1, 3, 4, ("meteor",))


@needs_root
def test_a_partition_cuts_only_the_links_between_sides_and_heal_restores_them() -> None:
    fabric = Fabric(tag=201, hosts=4)
    fabric.create()
    try:

        def blackholed(index: int) -> set[str]:
            routes = run_ip(*fabric.inside(index, ["ip", "route", "show", "type", "blackhole"]))
            return {line.split()[1] for line in routes.splitlines()}

        fabric.partition([(0, 1), (2, 3)])
        assert blackholed(0) == {fabric.address(2), fabric.address(3)}
        assert blackholed(3) == {fabric.address(0), fabric.address(1)}
        fabric.heal()
        fabric.cut_link(0, 2)  # a bridge: 0 and 2 apart, both still reach 1 and 3
        assert blackholed(0) == {fabric.address(2)} and blackholed(1) == set()
        fabric.heal()
        assert all(blackholed(index) == set() for index in range(4))
    finally:
        fabric.destroy()
    assert "mn201-v0" not in run_ip("ip", "netns", "list")


ECHO_SERVER = """
import socket
server = socket.create_server(("0.0.0.0", 9309))
print("listening", flush=True)
while True:
    peer, _ = server.accept()
    while data := peer.recv(64):
        peer.sendall(data)
"""
ECHO_CLIENT = """
import socket, sys, time
peer = socket.create_connection((sys.argv[1], 9309), timeout=5)
peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
times = []
for _ in range(5):
    sent = time.monotonic()
    peer.sendall(b"x")
    peer.recv(1)
    times.append(time.monotonic() - sent)
print(round(min(times) * 1000))
"""


@needs_root
def test_a_shaped_link_delays_and_drops_what_its_host_sends_without_netem(
    tmp_path: Path,
) -> None:
    fabric = Fabric(tag=207, hosts=2, logs=tmp_path)
    fabric.create()
    server = None
    try:
        if fabric.choose_shaping() == NONE:
            pytest.skip("neither netem nor iptables here (tools/install-native.sh)")
        assert fabric.shaping in (NETEM, IPTABLES)  # iptables on a kernel without netem
        server = subprocess.Popen(
            fabric.inside(1, [sys.executable, "-c", ECHO_SERVER]), stdout=subprocess.PIPE, text=True
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"

        def round_trip_ms() -> subprocess.CompletedProcess[str]:
            argv = [sys.executable, "-c", ECHO_CLIENT, fabric.address(1)]
            return subprocess.run(fabric.inside(0, argv), capture_output=True, text=True,
                                  timeout=60, check=False)  # fmt: skip

        fabric.shape(0, 200, 0, 0, seed=5)  # what host 0 sends waits 200 ms
        assert int(round_trip_ms().stdout) >= 200
        fabric.heal()
        assert not fabric.delayers
        fabric.shape(0, 0, 0, 100, seed=5)  # all of it dropped: not even a connection
        refused = round_trip_ms()
        assert refused.returncode != 0 and "timed out" in refused.stderr
        fabric.heal()
        assert int(round_trip_ms().stdout) < 200
    finally:
        if server is not None:
            server.kill()
            server.wait()
        fabric.destroy()


@given(delay_ms=st.integers(0, 2_000), jitter_share=st.integers(0, 100), seed=st.integers(0, 2**32))
def test_a_delayers_delays_come_from_its_seed_within_the_jitter(
    delay_ms: int, jitter_share: int, seed: int
) -> None:
    jitter_ms = delay_ms * jitter_share // 100
    first, again = Delayer(delay_ms, jitter_ms, seed), Delayer(delay_ms, jitter_ms, seed)
    dues = [first.due(10.0) for _ in range(20)]
    assert dues == [again.due(10.0) for _ in range(20)]
    assert all(
        10 + (delay_ms - jitter_ms) / 1000 <= due <= 10 + (delay_ms + jitter_ms) / 1000
        for due in dues
    )


def test_a_delayer_refuses_a_jitter_beyond_its_delay() -> None:
    with pytest.raises(ValueError, match="need 0 ≤ jitter ≤ delay"):
        Delayer(100, 101, 1)
    with pytest.raises(ValueError, match="need 0 ≤ jitter ≤ delay"):
        Delayer(-1, 0, 1)


def test_a_majority_partition_is_judged_by_when_its_new_blocks_were_proposed() -> None:
    cut = 1_000_000
    # No new block, or one certified before the cut: the chain stopped.
    assert stall_verdict(cut, [7, 7, 6, 7], [7, 7, 7, 7], {}) == STALLED
    assert stall_verdict(cut, [7, 7, 6, 7], [8, 7, 8, 7], {8: cut - 900}) == STALLED
    # Three heights above the highest answered at the cut (one gateway did not answer), all
    # proposed before it: applied late, not liveness without a quorum.
    assert stall_verdict(cut, [-1, 7, 6, 7], [10, 9, 10, 8], {8: cut - 2_000, 9: cut - 1_200,
                         10: cut - 10}) == IN_FLIGHT  # fmt: skip
    # One proposed after the cut and committed before the heal had a quorum across it; a
    # block no gateway showed cannot be cleared.
    assert stall_verdict(cut, [7, 7, 7, 7], [8, 7, 7, 7], {8: cut + 1}) == COMMITTED
    assert stall_verdict(cut, [7, 7, 7, 7], [9, 7, 7, 7], {8: cut - 5, 9: None}) == COMMITTED


def test_a_partition_of_hosts_leaves_no_quorum_only_while_the_set_is_the_one_drawn_for() -> None:
    addresses = ["a0", "a1", "a2", "a3"]
    split = ((1, 3), (0, 2))
    assert not quorum_side(split, addresses, {"a0": 1000, "a1": 1000, "a2": 1000, "a3": 1000})
    # a2 jailed: v1 and v3 hold 2000 of 3000, the quorum consensus counts (ceil(2P/3)).
    assert quorum_side(split, addresses, {"a0": 1000, "a1": 1000, "a3": 1000})
    assert quorum_side(((0,), (1, 2, 3)), addresses, dict.fromkeys(addresses, 1000))


def test_a_soak_is_flat_by_its_second_half_and_its_first_counts_the_warm_up() -> None:
    rss = {0: [100, 150, 180, 180, 181], 1: [100, 110, 120, 120, 120]}  # MiB by sample
    anon = {0: [60, 90, 100, 100, 100], 1: [60, 70, 80, 80, 84]}  # the heap part of rss
    samples = [
        {"node": node, "rss_kib": mib * 1024, "anon_kib": anon[node][index] * 1024,
         "fds": 30 + (node == 0 and index == 1)}
        for index in range(5)
        for node, series in rss.items()
        for mib in [series[index]]
    ]  # fmt: skip
    figures = dict(item.split("=") for item in soak_figures(samples).split())
    assert figures == {"soak_samples": "5", "rss_growth_pct": "81", "fds_growth": "0",
                       "rss_growth_late_pct": "0", "fds_growth_late": "0",
                       "anon_growth_pct": "66", "anon_growth_late_pct": "5"}  # fmt: skip


@given(
    st.integers(0, 3 * WINDOW * 5),
    st.integers(0, 100),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, WINDOW)), min_size=1, max_size=5),
)
def test_a_paced_sender_never_runs_past_its_window_and_the_turn_spreads_the_rest(
    owed: int, turn: int, accounts: list[tuple[int, int]]
) -> None:
    committed = [base for base, _ in accounts]
    nonces = [base + in_flight for base, in_flight in accounts]
    senders = within_windows(owed, turn, nonces, committed)
    room = sum(WINDOW - in_flight for _, in_flight in accounts)
    assert len(senders) == min(owed, room)
    for index, (_, in_flight) in enumerate(accounts):
        assert in_flight + senders.count(index) <= WINDOW
    # Round-robin from the turn: no account sends twice before every one with room sent.
    if senders and all(in_flight == 0 for _, in_flight in accounts):
        assert senders[0] == turn % len(accounts)
        counts = [senders.count(index) for index in range(len(accounts))]
        assert max(counts) - min(counts) <= 1


def test_the_stores_name_a_fork_and_a_lost_transfer_and_nothing_else(tmp_path: Path) -> None:
    """Three validators' stores: v0 and v1 hold the same two blocks, v2 another second block."""
    blocks = []
    for index, amount in enumerate((1, 1, 2)):
        with Store.open(tmp_path / "nodes" / f"v{index}" / "ledger", make_genesis()) as store:
            first = commit_block(store, transfers(store, 2)).block
            blocks.append(commit_block(store, transfers(store, 2, amount)).block)
    # Acknowledged: a transfer of block 1, and one of the second block v0 and v1 hold.
    kept, lost = first.txs[0].hash().hex(), blocks[0].txs[0].hash().hex()
    report = Report()
    check_stores(tmp_path, 3, {kept: 1, lost: 2}, report)
    assert (report.forks, report.lost_committed, report.heights) == (1, 1, 2)
    assert (report.acknowledged, report.supply_violations) == (2, 0)
    agreeing = Report()
    check_stores(tmp_path, 2, {kept: 1, lost: 2}, agreeing)
    assert (agreeing.forks, agreeing.lost_committed, agreeing.heights) == (0, 0, 2)


def metanode(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metanode.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_testnet_refuses_usage_errors(tmp_path: Path) -> None:
    for argv, message in (
        ([], "only --netns is built"),
        (["--netns", "--kinds", "meteor"], "--kinds: unknown meteor"),
        (["--netns", "--only", "kill,comet"], "--only: unknown comet"),
    ):
        done = metanode("testnet", *argv, "--home", str(tmp_path / "t"))
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
    assert not (tmp_path / "t").exists()


@pytest.mark.slow  # 4 validators, start-up and three faults: ~3 min on a loaded 2-core machine
@needs_root
def test_a_majority_partition_stops_liveness_but_never_safety_and_kills_and_pauses_heal(
    tmp_path: Path,
) -> None:
    done = metanode(
        "testnet", "--netns", "--scenarios", "3", "--seed", "1", "--tag", "202",
        "--kinds", "partition-majority,kill,pause", "--recovery-bound", "60",
        "--home", str(tmp_path / "t"), "--json", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report["scenarios"] == 3
    assert report["forks"] == 0 and report["lost_committed"] == 0
    assert report["supply_violations"] == 0 and report["not_recovered"] == 0
    assert report["majority_stalled"] == report["majority_scenarios"] == 1
    assert report["committed_without_quorum"] == report["majority_quorum_side"] == 0
    assert report["unchecked"] == 0
    assert report["acknowledged"] > 0
    assert report["figures"].startswith("scenarios=3 forks=0 lost_committed=0 max_recovery_s=")


@pytest.mark.slow  # 4 validators, a 30 s capacity measure and a short soak: ~3 min loaded
@needs_root
def test_a_paced_soak_offers_half_the_capacity_measured_at_its_start(tmp_path: Path) -> None:
    done = metanode(
        "testnet", "--netns", "--scenarios", "0", "--soak", "30", "--pace", "0.5",
        "--tag", "203", "--home", str(tmp_path / "t"), "--json", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    figures = dict(item.split("=") for item in json.loads(done.stdout)["figures"].split())
    capacity, paced = float(figures["capacity_tps"]), float(figures["paced_tps"])
    assert capacity > 0 and paced == pytest.approx(capacity / 2, abs=0.1)
    assert int(figures["admitted"]) > 0 and int(figures["acknowledged"]) > 0
    assert int(figures["unchecked"]) == 0 and int(figures["heights"]) > 0
    assert int(figures["forks"]) == 0 and int(figures["lost_committed"]) == 0
    assert int(figures["soak_samples"]) >= 2 and "rss_growth_late_pct" in figures
