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

from metanode.testnet import faults
from metanode.testnet.fabric import Fabric, run_ip

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
    assert int(figures["offered"]) > 0 and int(figures["acknowledged"]) > 0
    assert int(figures["forks"]) == 0 and int(figures["lost_committed"]) == 0
    assert int(figures["soak_samples"]) >= 2
