"""The home directory of a local network: `metanode init --dev | --testnet | --mainnet`.

Layout (docs/operator.md):
    genesis.json                 the chain's genesis document
    keys/<name>.key              account key files (dev accounts, the faucet, dev authorities)
    nodes/<name>/config.toml     one node's configuration
    nodes/<name>/validator.key   its validator keys (the Ed25519 one is its node key)
    nodes/<name>/node.pem        its TLS certificate, which peers pin
    nodes/<name>/admitted/       certificates of registered nodes it admitted as peers
    nodes/<name>/ledger/         its LMDB ledger
    nodes/<name>/consensus/      its consensus write-ahead record (LMDB)
    nodes/<name>/node.log        its log (JSON lines, rotated), written by the node
    nodes/<name>/stderr.log      what it printed outside its log, when `metanode up` ran it

The three kinds of chain:
- dev: chain id `metanode-dev`, funded dev accounts, the faucet; the key password is public
  and kept in each config (dev chains only, as Anvil's dev keys are public), and the dev
  accounts' keys are printed by `metanode up`, never written in the clear. Two authorities
  that issue KYC credentials (`metanode credential issue --from bank`): a bank and a
  government node record, each with a funded account key (keys/bank.key, keys/government.key)
  and its did:metanode DID in genesis; they run no node (their P2P address is in `.invalid`).
- testnet: chain id `metanode-testnet-<8 hex>`, no dev accounts, a funded faucet account.
- mainnet: chain id `metanode-mainnet-<8 hex>`, no faucet.
The 8 hex digits are the first 4 bytes of the genesis hash computed with the bare id
(`metanode-testnet`) in place of the chain id, so every new network has its own id, anyone can
recompute it from genesis.json, and (the genesis loader enforces it) no id of one kind names
another: a signature made for a dev chain is never valid on a testnet. `--chain-id` sets the
id instead (any printable id the loader takes: not one that names another kind). Testnet and
mainnet keys are encrypted under the operator's passphrase, which no file of the home holds.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from metanode.crypto import bls, ed25519, vrf
from metanode.crypto.keystore import DEFAULT_PARAMS, KdfParams
from metanode.errors import ConfigError
from metanode.state import constants as state_constants
from metanode.types import Address, Denom

from . import config as node_config
from . import keys

if TYPE_CHECKING:
    from metanode.consensus.real_suite import ValidatorKeys
    from metanode.state.genesis.document import GenesisDocument

DEV_PASSWORD = "metanode-dev"
DEV_CHAIN_ID = "metanode-dev"
GENESIS = "genesis.json"
FAUCET_KEY = "faucet.key"
COIN = state_constants.base_units_per_coin
dev_account_coins = 1_000_000
validator_stake_coins = 1_000
faucet_coins = 10_000_000  # FLX and NEX each, in a testnet's faucet account
# A dev chain's KYC authorities: key name (keys/NAME.key) and node type are the same word.
DEV_AUTHORITIES = ("bank", "government")


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


def read_genesis(path: Path) -> GenesisDocument:
    # The genesis loader (and the state modules it checks with) load only for a command that
    # reads a genesis: most commands only look up a node's config (cli/ start-up).
    from metanode.state.genesis.document import load_genesis  # noqa: PLC0415

    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the genesis file {path}: {error.strerror}") from None
    return load_genesis(path, text)


# Dev chains notarise within a second of block time, so a test sees its LogBlocks at once.
_DEV_NOTARY = node_config.Notary(logblock_interval_ms=1_000, submit_wait_ms=2_000)


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
    _check_new_home(home, validators)
    if not 0 <= accounts <= 1_000:
        raise ConfigError("--accounts must be within 0..1000")
    funded: list[Address] = list(extra_accounts or [])
    for index in range(accounts):
        funded.append(_new_account(home / "keys" / f"dev{index}.key", DEV_PASSWORD, keys.DEV_KDF))
    funded.append(_new_account(home / "keys" / FAUCET_KEY, DEV_PASSWORD, keys.DEV_KDF))
    authorities = {name: keys.new_validator_keys() for name in DEV_AUTHORITIES}
    for name, authority in authorities.items():
        keys.write_account(
            home / "keys" / f"{name}.key", authority.ed25519_seed, DEV_PASSWORD, keys.DEV_KDF
        )
        funded.append(Address.from_public_key(authority.public_key))
    every_denom = {denom: dev_account_coins * COIN for denom in Denom}
    chain = _Chain("dev", DEV_CHAIN_ID, DEV_PASSWORD, keys.DEV_KDF, faucet=True)
    ports = (port_base, api_port_base)
    return _write_network(home, chain, validators, ports, funded, every_denom, mempool, authorities)


def init_devchain(
    home: Path,
    *,
    accounts: int = 10,
    port_base: int = 26600,
    api_port_base: int = 8600,
    block_interval_ms: int = 0,
    extra_accounts: list[Address] | None = None,
) -> NodeEntry:
    """A one-validator dev chain's home (`metanode dev up`): `init_dev`'s, automining."""
    (entry,) = init_dev(
        home,
        validators=1,
        accounts=accounts,
        port_base=port_base,
        api_port_base=api_port_base,
        extra_accounts=extra_accounts,
    )
    set_automine(entry.config_path, block_interval_ms)
    return entry


def set_automine(config_path: Path, block_interval_ms: int) -> None:
    """Make the node of `config_path` automine with `block_interval_ms` (0: no empty blocks)."""
    config = node_config.load(config_path)
    dev = node_config.Dev(automine=True, block_interval_ms=block_interval_ms)
    config_path.write_text(node_config.to_toml(config.model_copy(update={"dev": dev})))
    node_config.load(config_path)


def init_public(
    home: Path,
    kind: str,
    passphrase: str,
    *,
    validators: int = 4,
    port_base: int = 26600,
    api_port_base: int = 8600,
    chain_id: str | None = None,
) -> list[NodeEntry]:
    """Create a testnet or mainnet home: validator keys under `passphrase` (full key
    derivation cost, the passphrase in no file), a genesis without dev accounts (a testnet's
    with a funded faucet account), and configs that hold no password."""
    if kind not in ("testnet", "mainnet"):
        raise ConfigError(f"init_public makes testnets and mainnets, not {kind!r} chains")
    keys.check_new_passphrase(passphrase)
    _check_new_home(home, validators)
    funded: list[Address] = []
    faucet = kind == "testnet"
    if faucet:
        funded.append(_new_account(home / "keys" / FAUCET_KEY, passphrase, DEFAULT_PARAMS))
    faucet_denoms = {Denom.FLX: faucet_coins * COIN, Denom.NEX: faucet_coins * COIN}
    chain = _Chain(kind, chain_id, passphrase, DEFAULT_PARAMS, faucet=faucet)
    ports = (port_base, api_port_base)
    return _write_network(home, chain, validators, ports, funded, faucet_denoms, None)


def place_hosts(home: Path, hosts: list[str], listen_host: str) -> None:
    """Put validator vN of `home` on its own host `hosts[N]` (a name or an address its peers
    reach it at: a container, a pod's service, a network namespace) and make every node listen
    on `listen_host`; `init` writes loopback, which only works while they share one host."""
    entries = node_entries(home)
    if len(hosts) != len(entries):
        raise ConfigError(f"--hosts names {len(hosts)} hosts for {len(entries)} validators")
    where = {entry.name: host for entry, host in zip(entries, hosts, strict=True)}
    for entry in entries:
        cfg = node_config.load(entry.config_path)
        peers = [peer.model_copy(update={"host": where[peer.name]}) for peer in cfg.p2p.peers]
        listen = cfg.p2p.listen.model_copy(update={"host": listen_host})
        p2p = cfg.p2p.model_copy(update={"listen": listen, "peers": peers})
        api = cfg.api.model_copy(
            update={"listen": cfg.api.listen.model_copy(update={"host": listen_host})}
        )
        placed = cfg.model_copy(update={"p2p": p2p, "api": api})
        entry.config_path.write_text(node_config.to_toml(placed))
        node_config.load(entry.config_path)


@dataclass(frozen=True, slots=True)
class _Chain:
    kind: str
    chain_id: str | None  # None: derived from the genesis (module docstring)
    passphrase: str
    kdf: KdfParams
    faucet: bool


def _check_new_home(home: Path, validators: int) -> None:
    if (home / GENESIS).exists():
        raise ConfigError(f"{home} already holds a network (genesis.json); use another --home")
    if not 1 <= validators <= 64:
        raise ConfigError("--validators must be within 1..64")


def _new_account(path: Path, passphrase: str, kdf: KdfParams) -> Address:
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = secrets.token_bytes(32)
    keys.write_account(path, seed, passphrase, kdf)
    return Address.from_public_key(ed25519.PrivateKey(seed).public_key)


def _write_network(
    home: Path,
    chain: _Chain,
    validators: int,
    ports: tuple[int, int],
    funded: list[Address],
    balances: dict[Denom, int],
    mempool: node_config.Mempool | None,
    authorities: dict[str, ValidatorKeys] | None = None,
) -> list[NodeEntry]:
    from metanode.net import tls  # noqa: PLC0415 - x509 only to make a home (read_genesis)

    names = [f"v{index}" for index in range(validators)]
    validator_keys = [keys.new_validator_keys() for _ in names]
    if chain.kind == "dev":  # a dev node pays its notary transactions (LogBlocks) itself
        funded = funded + [Address.from_public_key(vkeys.public_key) for vkeys in validator_keys]
    for name, vkeys in zip(names, validator_keys, strict=True):
        directory = home / "nodes" / name
        directory.mkdir(parents=True, exist_ok=True)
        keys.write_validator(directory / "validator.key", vkeys, chain.passphrase, chain.kdf)
        (directory / "node.pem").write_bytes(tls.certificate_pem(vkeys.ed25519_seed))
    genesis = _genesis_text(chain, validator_keys, funded, balances, authorities or {})
    (home / GENESIS).write_text(genesis)

    port_base, api_port_base = ports
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
            key_password=chain.passphrase if chain.kind == "dev" else None,
            faucet_key_file=f"../../keys/{FAUCET_KEY}" if chain.faucet else None,
            p2p=node_config.P2P(listen=node_config.Endpoint(port=port_base + index), peers=peers),
            api=node_config.Api(listen=node_config.Endpoint(port=api_port_base + index)),
            mempool=mempool or node_config.Mempool(),
            notary=_DEV_NOTARY if chain.kind == "dev" else node_config.Notary(),
        )
        path = home / "nodes" / name / "config.toml"
        path.write_text(node_config.to_toml(cfg))
        node_config.load(path)  # and so must every config
        entries.append(NodeEntry(name, path))
    return entries


def _genesis_text(
    chain: _Chain,
    validator_keys: list[ValidatorKeys],
    funded: list[Address],
    balances: dict[Denom, int],
    authorities: dict[str, ValidatorKeys],
) -> str:
    from metanode.state.genesis.document import parse_genesis  # noqa: PLC0415 - as in read_genesis
    from metanode.state.identity.records import FIRST_KEY, did_of_key  # noqa: PLC0415 - as there

    genesis = {
        "chain_id": chain.chain_id or f"metanode-{chain.kind}",
        "chain_kind": chain.kind,
        "genesis_time_ms": time.time_ns() // 1_000_000,
        "parameters": {"faucet": {"enabled": chain.faucet}},
        "accounts": [
            {
                "address": str(address),
                "balances": {denom.name: amount for denom, amount in balances.items()},
            }
            for address in funded
        ],
        "validators": [
            {**_node_keys(vkeys), "stake": validator_stake_coins * COIN} for vkeys in validator_keys
        ],
    }
    if authorities:
        genesis["nodes"] = [
            {
                "node_type": name,
                "roles": ["authority"],
                **_node_keys(authority),
                "p2p_address": f"{name}.dev.invalid:1",
                "did": did_of_key(authority.public_key),
            }
            for name, authority in authorities.items()
        ]
        genesis["identity"] = {
            "dids": [
                {
                    "creator_key": authority.public_key.hex(),
                    "methods": [
                        {
                            "fragment": FIRST_KEY,
                            "public_key": authority.public_key.hex(),
                            "relationships": ["authentication", "assertionMethod"],
                        }
                    ],
                    "created_ms": genesis["genesis_time_ms"],
                    "updated_ms": genesis["genesis_time_ms"],
                }
                for authority in authorities.values()
            ]
        }
    document = parse_genesis(json.dumps(genesis))  # what init writes must load
    if chain.chain_id is None and chain.kind != "dev":
        genesis["chain_id"] = f"metanode-{chain.kind}-{document.hash()[:4].hex()}"
        parse_genesis(json.dumps(genesis))
    return json.dumps(genesis, indent=2) + "\n"


def _node_keys(vkeys: ValidatorKeys) -> dict[str, str]:
    """A genesis validator's or node's four public keys, as genesis.json writes them."""
    return {
        "public_key": vkeys.public_key.hex(),
        "bls_public_key": vkeys.bls_public_key.hex(),
        "bls_proof_of_possession": bls.pop_prove(bls.PrivateKey.from_bytes(vkeys.bls_secret)).hex(),
        "vrf_public_key": vrf.public_key(vkeys.vrf_seed).hex(),
    }
