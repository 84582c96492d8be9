"""A node's configuration file: defaults, and bad values refused with the field named; classical
links are a switch that a chain requiring hybrid links refuses at the start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metanode.errors import ConfigError
from metanode.node import config as node_config
from metanode.node import home as dev_home
from metanode.node.node import Node

MINIMAL = 'name = "v0"\n[p2p.listen]\nport = 7000\n[api.listen]\nport = 8000\n'


def test_the_clients_bound_defaults_to_the_whole_pool_and_is_written_out(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL)
    loaded = node_config.load(path)
    assert loaded.mempool.clients_txs_max == 0
    path.write_text(node_config.to_toml(loaded))
    assert "clients_txs_max = 0" in path.read_text()
    assert node_config.load(path) == loaded


def refusal(tmp_path: Path, sections: str) -> str:
    """The message with which a config of MINIMAL plus `sections` is refused."""
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + sections)
    with pytest.raises(ConfigError) as raised:
        node_config.load(path)
    return str(raised.value)


def test_a_clients_bound_above_the_pool_is_refused_by_name(tmp_path: Path) -> None:
    message = refusal(tmp_path, "[mempool]\ntxs_max = 1000\nclients_txs_max = 2000\n")
    assert "mempool" in message and "clients_txs_max (2000) must not exceed txs_max" in message


def test_the_proposers_waits_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + "[consensus]\nblock_gather_ms = 50\nempty_block_delay_ms = 5000\n")
    loaded = node_config.load(path)
    path.write_text(node_config.to_toml(loaded))
    assert node_config.load(path) == loaded
    assert (loaded.consensus.block_gather_ms, loaded.consensus.empty_block_delay_ms) == (50, 5000)


def test_a_gathering_longer_than_the_empty_block_delay_is_refused_by_name(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, "[consensus]\nblock_gather_ms = 2000\nempty_block_delay_ms = 1000\n"
    )
    assert "consensus" in message
    assert "block_gather_ms (2000) must not exceed empty_block_delay_ms (1000)" in message


@pytest.mark.parametrize(
    ("setting", "watched", "other"),
    [('"all"', True, True), (f'["{"ab" * 32}"]', True, False), ("[]", False, False)],
)
def test_watched_apps_are_all_or_a_list_of_ids_and_round_trip(
    tmp_path: Path, setting: str, watched: bool, other: bool
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + f"[court]\nwatch_apps = {setting}\n")
    loaded = node_config.load(path)
    path.write_text(node_config.to_toml(loaded))
    assert node_config.load(path) == loaded
    assert loaded.court.watches(b"\xab" * 32) is watched
    assert loaded.court.watches(b"\xcd" * 32) is other


@pytest.mark.parametrize("setting", ['"some"', '["abc"]', '["AB' + "ab" * 31 + '"]'])
def test_a_watched_app_that_is_not_an_id_is_refused_by_name(tmp_path: Path, setting: str) -> None:
    assert "watch_apps" in refusal(tmp_path, f"[court]\nwatch_apps = {setting}\n")


def test_classical_links_are_a_switch_a_chain_requiring_hybrid_links_refuses(
    tmp_path: Path,
) -> None:
    (entry,) = dev_home.init_dev(tmp_path / "net", validators=1, accounts=0)
    genesis = tmp_path / "net" / dev_home.GENESIS
    document = json.loads(genesis.read_text())
    document.setdefault("parameters", {})["keys"] = {"hybrid_links_required": 1}
    genesis.write_text(json.dumps(document))
    loaded = node_config.load(entry.config_path)
    assert loaded.p2p.hybrid  # hybrid links unless switched off
    classical = loaded.model_copy(update={"p2p": loaded.p2p.model_copy(update={"hybrid": False})})
    entry.config_path.write_text(node_config.to_toml(classical))
    assert not node_config.load(entry.config_path).p2p.hybrid
    with pytest.raises(ConfigError, match=r"\[p2p\] hybrid = false, but this chain requires"):
        Node(entry.config_path, dev_home.DEV_PASSWORD)
