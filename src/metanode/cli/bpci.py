"""`bpci` and `bpci-core`: an operator's node in the registry (docs/operator.md, docs/registry.md).

`bpci register` signs a `RegisterNode` with a node's own keys (`--key NAME`: the home's
`nodes/NAME/validator.key`), whose Ed25519 key becomes the record's key and address, with the
BLS key and its proof of possession and the VRF key, and once it is committed announces the
node's TLS certificate to the gateway (`POST /api/v1/peers`), whose node admits it as a peer
and passes it on to the others (node/admission.py); `bpci exit` signs its `ExitNode` with the
same key, `bpci unjail` its `Unjail` (after a jail for missed commits); `bpci nodes` reads
the registry through a gateway; `bpci join` makes the home of a new node from a running
node's gateway; `bpci deploy` deploys an app owned by the node's account and `bpci monitor`
shows the apps the node hosts (docs/apps.md "Monitoring").
`bpci audit export` writes an app's split-origin audit bundle (cli/audit.py, docs/audit.md);
`bpci backup` writes an encrypted, verified copy of a node and `bpci restore` installs one
after checking it (docs/backup.md); `bpci policy` registers, shows and evaluates apps' BISO
policies (cli/policy.py, docs/policy.md).
`bpci-core` is the enterprise side: registration with a KYC credential, validator stake, and
joining the notary committee (registration with the notary role). Every command follows
`output.py`'s exit-code rule.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from metanode.crypto import bls
from metanode.errors import ConfigError
from metanode.net.ports import free_port_block
from metanode.node import keys
from metanode.state.codes import name_of
from metanode.state.identity.records import did_of_key
from metanode.state.registry.messages import check_p2p_address
from metanode.state.registry.records import DEFAULT_TYPES
from metanode.state.staking import errors as staking_errors
from metanode.types import (
    Address,
    Bond,
    Denom,
    ExitNode,
    NodeType,
    RegisterNode,
    RegisterValidator,
    Role,
    Unjail,
)
from metanode.types.messages import format_coins

from . import apps_view, audit, bpi, identity, output, rotation, server, wallet
from .network import DEFAULT_HOME, node_urls
from .policy import policy_app
from .security import app as security_app
from .wallet import Home, Json, NodeUrl

app = typer.Typer(
    name="bpci",
    help="Register and run a node of the network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(security_app, name="security")
app.add_typer(server.app, name="server")
core_app = typer.Typer(
    name="bpci-core",
    help="Enterprise nodes: KYC registration, validator stake, notary committee.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(audit.export_app, name="audit")
app.add_typer(policy_app, name="policy")
NodeKey = Annotated[str, typer.Option("--key", help="The node's name in the home (nodes/NAME).")]
P2p = Annotated[
    str | None, typer.Option("--p2p", help="host:port peers reach (default: its config's).")
]
Did = Annotated[str | None, typer.Option(help="The node's DID (default: its key's did:metanode).")]
Stake = Annotated[str, typer.Option(help="GEN to lock, in coins.")]
Kyc = Annotated[Path, typer.Option(help="The node DID's KYC credential (JSON).")]
JOINED_NODE = "node"
ALREADY_CANDIDATE = name_of(staking_errors.ALREADY_REGISTERED)


def _enum(kind: type[NodeType] | type[Role], text: str, option: str) -> Any:
    try:
        return kind[text.strip().upper()]
    except KeyError:
        names = ", ".join(member.name.lower() for member in kind)
        raise ConfigError(f"{option} {text!r}: one of {names}") from None


def register_node(
    home: Path,
    key: str,
    node_type: NodeType,
    roles: tuple[Role, ...],
    stake: int,
    p2p: str | None,
    did: str | None,
    url: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sign and commit the node's `RegisterNode` and, once committed, announce the node to the
    network as a peer: (the transaction's record, what it says)."""
    # pydantic's config models load only in the commands that read or write a config.
    from metanode.node import config as node_config  # noqa: PLC0415

    node_keys = wallet.node_keys(home, key)
    signing = wallet.signer(home, key)
    if p2p is None:
        listen = node_config.load(home / "nodes" / key / "config.toml").p2p.listen
        p2p = f"{listen.host}:{listen.port}"
    if not check_p2p_address(p2p):
        raise ConfigError(f"--p2p {p2p!r}: give host:port, the port in 1..65535")
    message = RegisterNode(
        node_type,
        tuple(sorted(set(roles))),
        node_keys.bls_public_key,
        bls.pop_prove(bls.PrivateKey.from_bytes(node_keys.bls_secret)),
        node_keys.vrf_public_key,
        p2p,
        did or did_of_key(signing.public_key),
        stake,
    )
    facts = {
        "address": str(keys.account_address(signing)),
        "node_type": node_type.name.lower(),
        "roles": [role.name.lower() for role in message.roles],
        "stake": format_coins(stake, Denom.GEN),
        "stake_base_units": stake,
        "did": message.did,
        "p2p": p2p,
    }
    record = wallet.commit(url, signing, message)
    if record["ok"]:
        # x509 loads only when a node registers or joins (cli/ start-up)
        from metanode.net import tls  # noqa: PLC0415

        certificate = tls.certificate_pem(node_keys.ed25519_seed).decode()
        admitted = wallet.call("POST", f"{url}/api/v1/peers", json={"certificate": certificate})
        facts["peer_admitted"] = admitted["node_id"]
    return record, facts


@app.command()
def register(
    key: NodeKey,
    node_type: Annotated[
        str, typer.Option("--node-type", help="community, enterprise, hybrid, bank, government.")
    ],
    roles: Annotated[
        str | None, typer.Option(help="Comma-separated roles (default: the type's first).")
    ] = None,
    stake: Stake = "0",
    p2p: P2p = None,
    did: Did = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Register the node --key in the registry as --node-type, locking --stake GEN."""
    kind = _enum(NodeType, node_type, "--node-type")
    chosen = (
        tuple(_enum(Role, item, "--roles") for item in roles.split(","))
        if roles
        else DEFAULT_TYPES[kind].roles[:1]
    )
    url = wallet.gateway(home, node)
    record, facts = register_node(home, key, kind, chosen, output.parse_coins(stake), p2p, did, url)
    wallet.report(record, as_json, facts)


@app.command("exit")
def exit_registry(
    key: NodeKey,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The node --key leaves the registry: it turns unbonding at the next epoch boundary and
    leaves the validator set there; its stake returns to it at the end of block exit_height."""
    url, address, record = _send_own(key, home, node, ExitNode())
    facts: dict[str, Any] = {"address": address}
    if record["ok"]:
        left = wallet.call("GET", f"{url}/api/v1/registry/nodes/{address}")
        facts |= {"status": left["status"], "exit_height": left["exit_height"]}
    wallet.report(record, as_json, facts)


@app.command()
def unjail(
    key: NodeKey,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The validator --key, jailed for missing commits, signs again from the next epoch; only
    after the downtime jail's length (a jail for equivocation is for good)."""
    _url, address, record = _send_own(key, home, node, Unjail())
    wallet.report(record, as_json, {"address": address})


@app.command("rotate-key")
def rotate_key(
    key: NodeKey,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Replace the node --key's Ed25519 node key (its consensus key and TLS certificate) with a
    new one, kept in nodes/NAME/node-keys/, where the running node finds it. The node signs
    with it from the first height of the next epoch; its address, stake and records stay."""
    url = wallet.gateway(home, node)
    record, facts = rotation.rotate_node_key(home, key, url)
    wallet.report(record, as_json, facts)


def _send_own(
    key: str, home: Path, node: str | None, message: ExitNode | Unjail
) -> tuple[str, str, dict[str, Any]]:
    """Commit a message the node --key sends about itself: (gateway, address, receipt)."""
    signing = wallet.signer(home, key)
    url = wallet.gateway(home, node)
    return url, str(keys.account_address(signing)), wallet.commit(url, signing, message)


@app.command()
def nodes(
    address: Annotated[str | None, typer.Argument(help="One node (default: every node).")] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Registered nodes, in address order, or one of them."""
    url = wallet.gateway(home, node)
    if address is not None:
        Address.parse(address)
        found = [wallet.call("GET", f"{url}/api/v1/registry/nodes/{address}")]
    else:
        found = []
        cursor = ""
        while True:
            page = wallet.call("GET", f"{url}/api/v1/registry/nodes?limit=100{cursor}")
            found += page["nodes"]
            if page["next"] is None:
                break
            cursor = f"&after={page['next']}"
    for item in found:
        item["stake_base_units"] = item["stake"]
        item["stake"] = format_coins(item["stake"], Denom.GEN)
    if as_json:
        output.print_json({"nodes": found} if address is None else found[0])
        return
    table = Table("address", "type", "roles", "status", "stake", "power", "did")
    for item in found:
        table.add_row(
            item["address"],
            item["node_type"],
            ",".join(item["roles"]),
            item["status"],
            item["stake"],
            str(item["voting_power"]),
            item["did"],
        )
    Console(width=300).print(table)


@app.command()
def join(
    peer: Annotated[str, typer.Option(help="A running node's gateway (host:port or URL).")],
    home: Annotated[Path, typer.Option(help="The new node's home directory.")],
    name: Annotated[str, typer.Option(help="The new node's name.")] = JOINED_NODE,
    port: Annotated[int | None, typer.Option(min=1, max=65_535, help="P2P port.")] = None,
    api_port: Annotated[int | None, typer.Option(min=1, max=65_535, help="Gateway port.")] = None,
    as_json: Json = False,
) -> None:
    """Make the home of a new node of the network that --peer runs: its genesis, new node keys,
    and a config that pins the peer and the nodes it pins. The running nodes link to it once
    it is registered (`bpci register` or `bpci-core register` announce it), or once each pins
    the `[[p2p.peers]]` entry printed here and restarts."""
    from metanode.net import tls  # noqa: PLC0415 - as in register_node
    from metanode.node import config as node_config  # noqa: PLC0415 - as in register_node
    from metanode.node import home as node_home  # noqa: PLC0415 - as node_config
    from metanode.state.genesis.document import parse_genesis  # noqa: PLC0415 - as tls

    url = wallet.gateway_base(peer)
    if (home / node_home.GENESIS).exists():
        raise ConfigError(f"{home} already holds a network (genesis.json); use another --home")
    genesis_text = wallet.request("GET", f"{url}/api/v1/genesis").text
    genesis = parse_genesis(genesis_text)
    network = wallet.call("GET", f"{url}/api/v1/peers")
    if network["chain_id"] != genesis.chain_id:
        raise wallet.GatewayError(f"{url} runs {network['chain_id']}, its genesis names another")
    dev = genesis.chain_kind == "dev"
    passphrase = node_home.DEV_PASSWORD if dev else keys.password(None)
    directory = home / "nodes" / name
    (directory / "peers").mkdir(parents=True, exist_ok=True)
    (home / node_home.GENESIS).write_text(genesis_text)
    node_keys = keys.new_validator_keys()
    kdf = keys.DEV_KDF if dev else keys.DEFAULT_PARAMS
    keys.write_validator(directory / "validator.key", node_keys, passphrase, kdf)
    certificate = tls.certificate_pem(node_keys.ed25519_seed)
    (directory / "node.pem").write_bytes(certificate)
    pinned = []
    for item in [network["node"], *network["peers"]]:
        (directory / "peers" / f"{item['name']}.pem").write_text(item["certificate"])
        pinned.append(
            node_config.Peer(
                name=item["name"],
                node_id=item["node_id"],
                host=item["host"],
                port=item["port"],
                certificate=f"peers/{item['name']}.pem",
            )
        )
    base = free_port_block(2) if port is None or api_port is None else 0
    cfg = node_config.NodeConfig(
        name=name,
        key_password=passphrase if dev else None,
        p2p=node_config.P2P(listen=node_config.Endpoint(port=port or base), peers=pinned),
        api=node_config.Api(listen=node_config.Endpoint(port=api_port or base + 1)),
    )
    (directory / "config.toml").write_text(node_config.to_toml(cfg))
    node_config.load(directory / "config.toml")
    node_id = str(Address.from_public_key(node_keys.public_key))
    entry = (
        f'[[p2p.peers]]\nname = "{name}"\nnode_id = "{node_id}"\n'
        f'host = "{cfg.p2p.listen.host}"\nport = {cfg.p2p.listen.port}\n'
        f'certificate = "peers/{name}.pem"'
    )
    facts = {
        "chain_id": genesis.chain_id,
        "node_id": node_id,
        "node_dir": str(directory),
        "certificate": str(directory / "node.pem"),
        "p2p_port": cfg.p2p.listen.port,
        "api_port": cfg.api.listen.port,
        "peers": [item.name for item in pinned],
        "peer_entry": entry,
        "start": f"metanode start --home {directory}",
    }
    if as_json:
        output.print_json(facts)
        return
    typer.echo(f"joined {genesis.chain_id} as {node_id}; its home is {directory}")
    typer.echo(
        "the running nodes link to it once it is registered (bpci register --key "
        f"{name} --home {home}); a node may also pin it by hand: copy {directory / 'node.pem'} "
        f"to peers/{name}.pem beside its config.toml, add this entry and restart it:"
    )
    typer.echo(entry)
    typer.echo(f"start it: {facts['start']}")


BACKUP_PASSPHRASE_ENV = "METANODE_BACKUP_PASSPHRASE"


def _backup_passphrase(*, confirm: bool) -> str:
    """From METANODE_BACKUP_PASSPHRASE, else asked at a terminal; never a node's key password
    (a backup holds those key files: one secret must not open both)."""
    value = os.environ.get(BACKUP_PASSPHRASE_ENV)
    if not value:
        if not sys.stdin.isatty():
            raise ConfigError(f"set {BACKUP_PASSPHRASE_ENV}, or run in a terminal to be asked")
        value = typer.prompt(
            "Backup passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
    return keys.check_new_passphrase(value) if confirm else value


@app.command()
def backup(
    key: NodeKey,
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
    home: Home = DEFAULT_HOME,
    as_json: Json = False,
) -> None:
    """Back a node up, running or not: a compacted copy of its ledger (and app state) with its
    keys, config and certificates, encrypted under a passphrase (METANODE_BACKUP_PASSPHRASE or
    a prompt) and checked against its certified tip before it is written."""
    # The backup loads the store (LMDB and the state table) only for backup and restore
    from metanode.node import backup as node_backup  # noqa: PLC0415

    header = node_backup.write_backup(home, key, out, _backup_passphrase(confirm=True))
    tip = header.tip
    facts = {
        "file": str(out),
        "bytes": out.stat().st_size,
        "node": key,
        "chain_id": tip.chain_id,
        "height": tip.height,
        "block_hash": tip.block_hash.hex(),
        "state_root": tip.state_root.hex(),
    }
    if as_json:
        output.print_json(facts)
        return
    typer.echo(
        f"backed up {key} of {tip.chain_id} at height {tip.height} into {out} "
        f"({facts['bytes']} bytes)"
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file `bpci backup` wrote.")],
    home: Annotated[Path, typer.Option(help="The network home to restore the node into.")],
    as_json: Json = False,
) -> None:
    """Restore a backup into a home (new, or one of the same chain without that node): it is
    decrypted, its certified tip and state root are verified, and only then installed."""
    if not file.is_file():
        raise ConfigError(f"{file}: no such backup file")
    from metanode.node import backup as node_backup  # noqa: PLC0415 - as in backup

    restored = node_backup.restore_backup(file, home, _backup_passphrase(confirm=False))
    tip = restored.header.tip
    facts = {
        "node": restored.header.node_name,
        "node_dir": str(restored.node_directory),
        "chain_id": tip.chain_id,
        "height": tip.height,
        "block_hash": tip.block_hash.hex(),
        "state_root": tip.state_root.hex(),
        "installed": list(restored.installed),
        "start": f"metanode start --home {restored.node_directory}",
    }
    if as_json:
        output.print_json(facts)
        return
    typer.echo(
        f"restored {facts['node']} of {tip.chain_id} at height {tip.height} (certificate and "
        f"state root verified) into {restored.node_directory}"
    )
    typer.echo(f"start it: {facts['start']}")


# bpci-core -------------------------------------------------------------------------------------


@app.command()
def deploy(
    module: Annotated[Path, typer.Argument(help="The app: .wat or .wasm.")],
    key: NodeKey,
    replicas: bpi.Replicas = None,
    fuel_price: bpi.FuelPrice = None,
    fuel_limit: bpi.FuelLimit = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Deploy MODULE as an app owned by the node --key (its account pays and owns it); the
    manifest beside MODULE gives the options not given, as for `bpi deploy`."""
    bpi.deploy_module(
        module, replicas, fuel_price, fuel_limit, wallet.signer(home, key), home, node, as_json
    )


@app.command()
def monitor(
    key: NodeKey,
    once: bpi.Once = False,
    interval: bpi.Interval = 2.0,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The apps the node --key hosts (runs, or is drawn for now): how far it has run each,
    how far LogBlocks have notarised it, disputes, and its billing this epoch; refreshed
    every --interval seconds until Ctrl-C (--json: one snapshot)."""
    url = wallet.gateway(home, node) if node is not None else dict(node_urls(home)).get(key)
    if url is None:
        raise ConfigError(f"no node {key!r} in {home}; give its gateway with --node")
    address = str(keys.account_address(wallet.signer(home, key)))
    while True:
        seen = apps_view.gateways([url])
        if not seen or seen[0].node_id != address:
            raise wallet.GatewayError(f"the gateway at {url} does not serve node {address}")
        statement = wallet.call("GET", f"{url}/api/v1/executors/{address}/statements")
        snapshot = {
            "node": address,
            "apps": apps_view.hosted(seen[0]),
            "epoch": statement["epoch"],
            "served": statement["calls"],
            "fuel": statement["fuel"],
            "paid": format_coins(statement["paid"], Denom.FLX),
            "paid_base_units": statement["paid"],
            "minted": format_coins(statement["minted"], Denom.NEX),
            "minted_base_units": statement["minted"],
        }
        if as_json:
            output.print_json(snapshot)
            return
        _show_hosted(snapshot)
        if once:
            return
        time.sleep(interval)


def _show_hosted(snapshot: dict[str, Any]) -> None:
    console = Console(width=200)
    console.print(
        f"node {snapshot['node']}, epoch {snapshot['epoch']}: served {snapshot['served']} "
        f"calls, {snapshot['fuel']} fuel, paid {snapshot['paid']}, minted {snapshot['minted']}"
    )
    table = Table("app", "drawn now", "calls", "last run", "behind", "notarised to", "disputes")
    for item in snapshot["apps"]:
        table.add_row(
            item["app"],
            "yes" if item["drawn_now"] else "no",
            str(item["calls"]),
            str(item["last_run"]),
            str(item["behind"]),
            str(item["notarised_to"]),
            bpi.show_disputes(item["disputes"]),
        )
    console.print(table)


@core_app.command("register")
def core_register(
    key: NodeKey,
    kyc: Kyc,
    enterprise: Annotated[
        bool, typer.Option("--enterprise", help="As an enterprise node.")
    ] = False,
    roles: Annotated[str, typer.Option(help="Comma-separated roles.")] = "validator",
    stake: Stake = "1000000",
    p2p: P2p = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Register the node --key as an enterprise node whose DID holds the credential --kyc
    (registered on chain first if the chain does not hold it yet)."""
    if not enterprise:
        raise ConfigError("bpci-core register registers enterprise nodes: give --enterprise")
    chosen = tuple(_enum(Role, item, "--roles") for item in roles.split(","))
    _register_enterprise(home, key, kyc, chosen, stake, p2p, node, as_json)


def _register_enterprise(
    home: Path,
    key: str,
    kyc: Path,
    roles: tuple[Role, ...],
    stake: str,
    p2p: str | None,
    node: str | None,
    as_json: bool,
) -> None:
    url = wallet.gateway(home, node)
    credential = identity.register_credential(url, home, key, kyc)
    subject = identity.read_credential(kyc).subject
    record, facts = register_node(
        home,
        key,
        NodeType.ENTERPRISE,
        roles,
        output.parse_coins(stake),
        p2p,
        subject,
        url,
    )
    wallet.report(record, as_json, {**facts, "kyc_level": credential["level"]})


@core_app.command("validator")
def core_validator(
    key: NodeKey,
    stake: Annotated[str, typer.Option(help="GEN to bond to the node, in coins.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Make the node --key a validator candidate (RegisterValidator, if it is not one yet) and
    bond --stake GEN to it from its own account; it joins the set at the next epoch."""
    url = wallet.gateway(home, node)
    node_keys = wallet.node_keys(home, key)
    signing = wallet.signer(home, key)
    address = keys.account_address(signing)
    amount = output.parse_coins(stake)
    found = wallet.call("GET", f"{url}/api/v1/registry/nodes/{address}", accepted=(404,))
    # A node registered with the validator role is a staking candidate already; any other
    # account becomes one by RegisterValidator, which refuses one that already is (and so
    # costs only its fee when this command is run twice).
    if "validator" not in found.get("roles", []):
        message = RegisterValidator(
            node_keys.bls_public_key,
            bls.pop_prove(bls.PrivateKey.from_bytes(node_keys.bls_secret)),
            node_keys.vrf_public_key,
        )
        registered = wallet.commit(url, signing, message)
        if not registered["ok"] and registered["receipt"]["code_name"] != ALREADY_CANDIDATE:
            wallet.report(registered, as_json, {"address": str(address)})
    record = wallet.commit(url, signing, Bond(address, amount))
    facts = {
        "address": str(address),
        "bonded": format_coins(amount, Denom.GEN),
        "bonded_base_units": amount,
    }
    wallet.report(record, as_json, facts)


@core_app.command("notary")
def core_notary(
    key: NodeKey,
    kyc: Kyc,
    committee_join: Annotated[
        bool, typer.Option("--committee-join", help="Join the notary committee.")
    ] = False,
    stake: Annotated[
        str, typer.Option(help="GEN to lock, in coins (the notary role asks 2,000,000).")
    ] = "2000000",
    p2p: P2p = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Join the notary committee: register the node --key as an enterprise node with the
    notary role, its DID holding the credential --kyc. The committee is the active registry
    nodes with that role once there are at least 4 (state/notary/committee.py; the validator
    set until then), so the node signs LogBlocks from the epoch where it turns active and
    that floor is met. A node registered already cannot take the role on: the registry
    has no transaction that changes a record's roles, and the chain refuses a second
    registration (registry.already_registered)."""
    if not committee_join:
        raise ConfigError("bpci-core notary: give --committee-join")
    _register_enterprise(home, key, kyc, (Role.NOTARY,), stake, p2p, node, as_json)


def main() -> None:
    output.run(app, "bpci")


def core_main() -> None:
    output.run(core_app, "bpci-core")


if __name__ == "__main__":
    main()
