"""The home directory of a local network, and `metanode init --dev`.

Layout (docs/operator.md):
    genesis.json                 the chain's genesis document
    keys/<name>.key              account key files (dev accounts, the faucet)
    nodes/<name>/config.toml     one node's configuration
    nodes/<name>/validator.key   its validator keys (the Ed25519 one is its node key)
    nodes/<name>/node.pem        its TLS certificate, which peers pin
    nodes/<name>/ledger/         its LMDB ledger
    nodes/<name>/consensus/      its consensus write-ahead record (LMDB)
    nodes/<name>/node.log        its log (JSON lines, rotated), written by the node
    nodes/<name>/stderr.log      what it printed outside its log, when `metanode up` ran it

A dev home keeps the key password in each config (dev chains only, as Anvil's dev keys are
public); the dev accounts' keys are printed by `metanode up`, never written in the clear.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from metanode.crypto import bls, ed25519, vrf
from metanode.errors import ConfigError
from metanode.net import tls
from metanode.state import constants as state_constants
from metanode.state.genesis.document import parse_genesis
from metanode.types import Address, Denom

from . import config as node_config
from . import keys

DEV_PASSWORD = "metanode-dev"
DEV_CHAIN_ID = "metanode-dev"
GENESIS = "genesis.json"
COIN = state_constants.base_units_per_coin
dev_account_coins = 1_000_000
validator_stake_coins = 1_000


@dataclass(frozen=True, slots=True)
class NodeEntry:
    name: str
    config_path: Path


def node_entries(home: Path) -> list[NodeEntry]:
    """The nodes of a home, in name order (v0, v1, …; names sort by their number)."""
    nodes = home / "nodes"
    found = sorted(nodes.glob("*/config.toml")) if nodes.is_dir() else []
    entries = [NodeEntry(path.parent.name, path) for path in found]
    return sorted(entries, key=lambda entry: (len(entry.name), entry.name))


def account_key_files(home: Path) -> list[Path]:
    directory = home / "keys"
    return sorted(directory.glob("*.key")) if directory.is_dir() else []


def init_dev(
    home: Path,
    *,
    validators: int = 4,
    accounts: int = 10,
    port_base: int = 26600,
    api_port_base: int = 8600,
    extra_accounts: list[Address] | None = None,
    mempool: node_config.Mempool | None = None,
) -> list[NodeEntry]:
    """Create a dev network's home: keys, genesis with funded dev accounts, configs."""
    if (home / GENESIS).exists():
        raise ConfigError(f"{home} already holds a network (genesis.json); use another --home")
    if not 1 <= validators <= 64:
        raise ConfigError("--validators must be within 1..64")
    if not 0 <= accounts <= 1_000:
        raise ConfigError("--accounts must be within 0..1000")
    (home / "keys").mkdir(parents=True, exist_ok=True)
    funded: list[Address] = list(extra_accounts or [])
    for index in range(accounts):
        seed = secrets.token_bytes(32)
        keys.write_account(home / "keys" / f"dev{index}.key", seed, DEV_PASSWORD, keys.DEV_KDF)
        funded.append(Address.from_public_key(ed25519.PrivateKey(seed).public_key))
    faucet_seed = secrets.token_bytes(32)
    keys.write_account(home / "keys" / "faucet.key", faucet_seed, DEV_PASSWORD, keys.DEV_KDF)
    funded.append(Address.from_public_key(ed25519.PrivateKey(faucet_seed).public_key))

    names = [f"v{index}" for index in range(validators)]
    validator_keys = [keys.new_validator_keys() for _ in names]
    for name, vkeys in zip(names, validator_keys, strict=True):
        directory = home / "nodes" / name
        directory.mkdir(parents=True, exist_ok=True)
        keys.write_validator(directory / "validator.key", vkeys, DEV_PASSWORD, keys.DEV_KDF)
        (directory / "node.pem").write_bytes(tls.certificate_pem(vkeys.ed25519_seed))

    genesis = {
        "chain_id": DEV_CHAIN_ID,
        "chain_kind": "dev",
        "genesis_time_ms": time.time_ns() // 1_000_000,
        "parameters": {"faucet": {"enabled": True}},
        "accounts": [
            {
                "address": str(address),
                "balances": {denom.name: dev_account_coins * COIN for denom in Denom},
            }
            for address in funded
        ],
        "validators": [
            {
                "public_key": vkeys.public_key.hex(),
                "bls_public_key": vkeys.bls_public_key.hex(),
                "bls_proof_of_possession": bls.pop_prove(
                    bls.PrivateKey.from_bytes(vkeys.bls_secret)
                ).hex(),
                "vrf_public_key": vrf.public_key(vkeys.vrf_seed).hex(),
                "stake": validator_stake_coins * COIN,
            }
            for vkeys in validator_keys
        ],
    }
    text = json.dumps(genesis, indent=2) + "\n"
    parse_genesis(text)  # what init writes must load
    (home / GENESIS).write_text(text)

    entries = []
    for index, name in enumerate(names):
        peers = [
            node_config.Peer(
                name=other,
                node_id=str(Address.from_public_key(validator_keys[j].public_key)),
                port=port_base + j,
                certificate=f"../{other}/node.pem",
            )
            for j, other in enumerate(names)
            if j != index
        ]
        cfg = node_config.NodeConfig(
            name=name,
            key_password=DEV_PASSWORD,
            faucet_key_file="../../keys/faucet.key",
            p2p=node_config.P2P(listen=node_config.Endpoint(port=port_base + index), peers=peers),
            api=node_config.Api(listen=node_config.Endpoint(port=api_port_base + index)),
            mempool=mempool or node_config.Mempool(),
        )
        path = home / "nodes" / name / "config.toml"
        path.write_text(node_config.to_toml(cfg))
        node_config.load(path)  # and so must every config
        entries.append(NodeEntry(name, path))
    return entries
