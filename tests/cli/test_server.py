"""`bpci server`'s decisions and refusals, without running a node: the readiness checks, the
`[server]` section of config.toml, the backoff and crash-loop limit, the recovery strategies,
and the commands' answers to bad input (tests/cli/test_server_processes.py runs real nodes)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from metanode.cli import bpci as bpci_cli
from metanode.cli import output, recovery, supervisor
from metanode.errors import ConfigError, MetanodeError, NotBuiltError
from metanode.node import config as node_config
from metanode.node import readiness
from metanode.state.store import LEDGER_DIR

MINIMAL = 'name = "v0"\n[p2p.listen]\nport = 7000\n[api.listen]\nport = 8000\n'


def figures(**changes: object) -> readiness.Figures:
    base = dict(
        stopped=None,
        height=10,
        best_height=12,
        peers=3,
        store_problem=None,
        lag_blocks_max=5,
        peers_min=1,
    )
    base.update(changes)
    return readiness.Figures(**base)  # type: ignore[arg-type]


def test_a_running_synced_node_with_peers_and_a_sound_store_is_ready() -> None:
    assessed = readiness.assess(figures())
    assert assessed.ready and assessed.failing == ()
    assert [check.name for check in assessed.checks] == list(readiness.CHECKS)
    assert assessed.as_json()["lag"] == 2


@pytest.mark.parametrize(
    ("changes", "failing", "says"),
    [
        ({"stopped": "stopping"}, "running", "stopping"),
        ({"best_height": 16}, "synced", "6 blocks behind the best height peers announce (16)"),
        ({"peers": 0}, "peers", "0 peers connected; ready_peers_min is 1"),
        ({"store_problem": "the tip block 10 is missing"}, "store", "the tip block 10 is missing"),
    ],
)
def test_a_node_that_is_not_ready_names_the_failing_check(
    changes: dict[str, object], failing: str, says: str
) -> None:
    assessed = readiness.assess(figures(**changes))
    assert not assessed.ready
    assert [check.name for check in assessed.failing] == [failing]
    assert says in assessed.as_json()["failing"][0]  # type: ignore[index]


def load(tmp_path: Path, sections: str, top: str = "") -> node_config.NodeConfig:
    """MINIMAL with `top` keys before its tables and `sections` after them."""
    path = tmp_path / "config.toml"
    path.write_text(top + MINIMAL + sections)
    return node_config.load(path)


@pytest.mark.parametrize(
    ("top", "sections", "says"),
    [
        ("", '[server]\nroles = ["validator", "miner"]\n', "server.roles.1"),
        ("", '[server]\nroles = ["gateway", "gateway"]\n', "repeated: gateway"),
        ("", "[server]\nroles = []\n", "server.roles"),
        (
            "",
            "[server]\nrestart_backoff_ms = 5000\nrestart_backoff_max_ms = 1000\n",
            "restart_backoff_ms (5000) must not exceed restart_backoff_max_ms (1000)",
        ),
        (
            'faucet_key_file = "f.key"\n',
            '[server]\nroles = ["validator"]\n',
            "server.roles: faucet_key_file is set",
        ),
    ],
)
def test_an_unknown_role_or_contradictory_server_settings_are_refused_naming_the_field(
    tmp_path: Path, top: str, sections: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, sections, top)
    assert says in str(raised.value)


def test_the_server_section_round_trips_through_the_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[server]\nroles = ["validator", "gateway"]\nready_peers_min = 2\n')
    path = tmp_path / "config.toml"
    path.write_text(node_config.to_toml(loaded))
    assert node_config.load(path) == loaded
    assert loaded.server.roles == ["validator", "gateway"]


def test_a_reload_applies_the_server_bounds_and_log_level_and_names_the_rest(
    tmp_path: Path,
) -> None:
    running = load(tmp_path, "")
    changed = load(
        tmp_path,
        '[server]\nready_peers_min = 3\nroles = ["validator"]\n'
        '[consensus]\nblock_txs_max = 10\n[log]\nlevel = "debug"\n',
    )
    assert node_config.changed_needing_restart(running, changed) == [
        "consensus.block_txs_max",
        "server.roles",
    ]


@given(
    base=st.integers(0, 600_000),
    cap=st.integers(0, 3_600_000),
    crashes=st.integers(1, 1_000),
)
def test_the_backoff_doubles_per_recent_crash_and_never_passes_its_cap(
    base: int, cap: int, crashes: int
) -> None:
    settings = node_config.Server(restart_backoff_ms=min(base, cap), restart_backoff_max_ms=cap)
    wait = supervisor.backoff_ms(settings, crashes)
    assert wait <= cap
    assert wait == min(min(base, cap) * 2 ** (crashes - 1), cap)


def test_crashes_older_than_the_window_are_forgotten() -> None:
    crashes = collections.deque([0.0, 100.0, 250.0])
    assert supervisor.recent(crashes, 320.0, 300) == 2
    assert list(crashes) == [100.0, 250.0]


def test_recovery_skips_what_is_not_built_and_sets_the_failed_store_aside(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL)  # takes no snapshots: nothing to restore
    (tmp_path / LEDGER_DIR).mkdir()
    (tmp_path / LEDGER_DIR / "data.mdb").write_bytes(b"garbage")
    with pytest.raises(NotBuiltError):
        recovery.SnapshotRestore().recover(tmp_path, "broken")
    done = recovery.recover(tmp_path, "block 3: re-executed receipts differ")
    assert done.startswith("resync: set the failed store aside")
    assert not (tmp_path / LEDGER_DIR).exists()
    (aside,) = (tmp_path / recovery.QUARANTINE_DIR).iterdir()
    assert (aside / "data.mdb").read_bytes() == b"garbage"
    assert "receipts differ" in (aside / "WHY").read_text()


def test_recovery_with_no_strategy_left_fails_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL)
    with pytest.raises(recovery.RecoveryFailed, match="tried snapshot"):
        recovery.recover(tmp_path, "broken", (recovery.SnapshotRestore(),))


def test_a_store_lmdb_cannot_read_fails_the_check_and_no_store_passes(tmp_path: Path) -> None:
    assert recovery.check_store(tmp_path) is None  # a new node: nothing to check
    (tmp_path / LEDGER_DIR).mkdir()
    (tmp_path / LEDGER_DIR / "data.mdb").write_bytes(b"\x00" * 8192)
    problem = recovery.check_store(tmp_path)
    assert problem is not None and problem != ""


def bpci(*args: str) -> tuple[int, str]:
    """`bpci server ARGS` in this process: (exit code as output.run gives it, what it printed)."""
    result = CliRunner().invoke(bpci_cli.app, ["server", *args])
    if isinstance(result.exception, MetanodeError):
        return output.exit_code(result.exception), str(result.exception)
    return result.exit_code, result.output


def test_start_and_reload_refuse_a_bad_config_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL + '[server]\nroles = ["validator", "miner"]\n')
    for command in ("start", "reload"):
        code, said = bpci(command, "--home", str(tmp_path))
        assert code == 2 and "server.roles" in said
    assert not (tmp_path / supervisor.STATE_FILE).exists()


def test_stop_status_and_reload_without_a_running_server_fail_and_say_so(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL)
    for command in ("stop", "reload"):
        code, said = bpci(command, "--home", str(tmp_path))
        assert code == 1 and "no server runs" in said
    code, said = bpci("status", "--home", str(tmp_path), "--json")
    report = json.loads(said)
    assert code == 1 and report["running"] is False and report["state"] == "stopped"
    assert report["roles"]["validator"] == "down" and report["ready"] is None


def test_the_peer_minimum_defaults_to_one_with_peers_and_none_for_a_lone_node(
    tmp_path: Path,
) -> None:
    lone = load(tmp_path, "")
    assert lone.server.ready_peers_min is None and lone.ready_peers_min == 0
    peer = node_config.Peer.model_construct(name="v1", node_id="", port=7001, certificate="")
    with_peer = lone.model_copy(update={"p2p": lone.p2p.model_copy(update={"peers": [peer]})})
    assert with_peer.ready_peers_min == 1
    assert load(tmp_path, "[server]\nready_peers_min = 3\n").ready_peers_min == 3
