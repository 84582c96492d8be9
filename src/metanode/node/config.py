"""A node's configuration: TOML, typed with pydantic; every error names the field.

Defaults are documented where they are declared and in docs/operator.md. Paths are relative to
the directory of the configuration file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from metanode.errors import ConfigError, DecodeError
from metanode.mempool import constants as mempool_constants
from metanode.types import Address

Port = Annotated[int, Field(ge=1, le=65535)]
Height = Annotated[int, Field(ge=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_above(section: _Section, field: str, limit: str, why: str) -> None:
    """Refuse a section whose `field` exceeds its `limit` field, naming both and why."""
    value, bound = getattr(section, field), getattr(section, limit)
    if value > bound:
        raise ValueError(f"{field} ({value}) must not exceed {limit} ({bound}): {why}")


class Endpoint(_Section):
    host: str = "127.0.0.1"
    port: Port


class Peer(_Section):
    name: str
    node_id: str  # bech32m address of the peer's node key
    host: str = "127.0.0.1"
    port: Port
    certificate: str  # PEM file of the peer's node certificate

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        try:
            Address.parse(value)
        except DecodeError as error:
            raise ValueError(str(error)) from None  # pydantic reports ValueErrors by field
        return value


class P2P(_Section):
    listen: Endpoint
    peers: list[Peer] = []
    # Hybrid link keys (X25519 + ML-KEM-768, net/hybrid.py). false runs classical TLS links
    # only, to measure what hybrid ones cost (`metanode bench --compare-links`); a chain whose
    # `keys.hybrid_links_required` is set refuses to start such a node.
    hybrid: bool = True


class Api(_Section):
    listen: Endpoint
    # Faucet requests per client address per minute (dev and testnet chains only).
    faucet_requests_per_minute: Annotated[int, Field(ge=1, le=10_000)] = 10
    # App calls a policy lights Yellow that the gateway admits per app per minute (quarantine
    # for inspection: docs/policy.md); past it they get 429.
    quarantine_calls_per_minute: Annotated[int, Field(ge=1, le=100_000)] = 30
    # Largest request body; transactions are at most 8 KiB each.
    request_bytes_max: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 4 * 1024 * 1024
    # Open connections overall; past it requests are answered 503 (uvicorn's limit_concurrency).
    connections_max: Annotated[int, Field(ge=1, le=100_000)] = 1_000
    # Open connections of one client address; the next one is answered 503 and closed, so one
    # address that opens connections and sends nothing (slowloris) cannot take them all.
    connections_per_client_max: Annotated[int, Field(ge=1, le=100_000)] = 64
    # A request's headers must arrive within `header_timeout_ms` of the connection's opening or
    # of the request's first byte (an idle kept-alive connection closes after 5 s), and its
    # body within `body_timeout_ms` of its headers; past either the client gets 408 and the
    # connection is closed.
    header_timeout_ms: Annotated[int, Field(ge=100, le=600_000)] = 10_000
    body_timeout_ms: Annotated[int, Field(ge=100, le=600_000)] = 30_000

    @model_validator(mode="after")
    def _client_share_within_the_whole(self) -> Api:
        _not_above(
            self, "connections_per_client_max", "connections_max", "one client's are part of all"
        )
        return self


class Consensus(_Section):
    # Round 0's timeout; round r waits base * 2^r (QBFT).
    round_timeout_base_ms: Annotated[int, Field(ge=100, le=60_000)] = 1_000
    # A round-0 proposer gathers transactions for `block_gather_ms` from the start of its
    # height (unless a full block is already pending), then proposes as soon as any are
    # pending that a block can include (not those queued behind a nonce gap), or an empty
    # block at `empty_block_delay_ms` (empty blocks keep time moving and prove liveness).
    # Round 0's timeout is extended by `empty_block_delay_ms`, so that
    # waiting never reads as a faulty proposer. Proposing at once whenever some were pending
    # made small blocks at moderate rates, each with a height's fixed work: 150 ms of
    # gathering cost 4 validators 16% less CPU at 1,000/s (60 ms more p50) and half at 50/s;
    # an idle network made 3.1 blocks a second with 0.19 cores at an empty-block delay of
    # 300 ms (docs/operator.md).
    block_gather_ms: Annotated[int, Field(ge=0, le=60_000)] = 150
    empty_block_delay_ms: Annotated[int, Field(ge=0, le=60_000)] = 1_000
    # Largest block the proposer builds, in transactions. A full block must be built, gossiped
    # and validated well inside round 0's timeout, or the round changes and the work is lost:
    # on 2 cores with 4 validators 5,000 transfers sent 8 of 14 loaded heights to round 1 or 2,
    # 2,000 sent 3 of 79 (docs/performance.md).
    block_txs_max: Annotated[int, Field(ge=1, le=20_000)] = 2_000

    @model_validator(mode="after")
    def _gather_within_the_delay(self) -> Consensus:
        _not_above(
            self, "block_gather_ms", "empty_block_delay_ms", "the gathering is part of the wait"
        )
        return self


class Mempool(_Section):
    # Pending transactions held; a full pool refuses (typed `pool_full`) what cannot evict a
    # lower fee, before verifying it. The bound is what keeps latency bounded under overload:
    # 2.5 full blocks (geth's pool holds 5,120).
    txs_max: Annotated[int, Field(ge=1, le=200_000)] = 5_000
    # Pending transactions the clients of all N validators together may hold; each node's own
    # clients get 1/N of it and the rest of its pool is room for gossip. 0: `txs_max`. It
    # sets the latency at overload (Little's law: the queue's depth over the commit rate):
    # 4 validators at `--rate max` (docs/performance.md) gave p50 / p99 1.8–2.1 s / 3.1–3.7 s
    # with 5,000 and 0.75–0.99 s / 1.3–1.7 s with 2,000, for about 13% fewer TPS (smaller
    # blocks, so more of each height's fixed work per transaction); 4,000 took p50 / p99 down
    # by 13% / 19% (medians of four alternating pairs) with TPS within noise. One validator
    # lost 30% of its TPS at 2,000 and 16% at 4,000.
    clients_txs_max: Annotated[int, Field(ge=0, le=200_000)] = 0
    # How far ahead of its account's next nonce a transaction may wait in the pool (queued
    # behind the missing nonces, no work for a proposer); further ahead is refused
    # `nonce_gap_too_large`, naming this bound and the nonce the pool expects.
    nonce_gap_max: Annotated[int, Field(ge=0, le=mempool_constants.sender_txs_max)] = (
        mempool_constants.nonce_gap_max
    )

    # Admission that follows the commit rate (mempool/rate.py): this node's clients may hold
    # pending at most `admission_blocks` blocks' worth of the transactions committed per block
    # over the last `admission_window_blocks` blocks (its 1/N share with N validators), never
    # fewer than `admission_txs_min`; past it the gateway answers 429 with `Retry-After` (about
    # a block) instead of letting the queue, and every transaction's wait, grow. 0: off (only
    # `txs_max` / `clients_txs_max` bound the pool).
    admission_blocks: Annotated[int, Field(ge=0, le=1_000)] = 4
    admission_window_blocks: Annotated[int, Field(ge=1, le=10_000)] = 8
    # A full block's worth by default: a quiet chain commits little, and the floor lets load
    # start (the bound then grows with the blocks it fills).
    admission_txs_min: Annotated[int, Field(ge=1, le=200_000)] = 2_000

    @model_validator(mode="after")
    def _clients_fit_in_the_pool(self) -> Mempool:
        _not_above(self, "clients_txs_max", "txs_max", "the clients' share is part of the pool")
        return self


class Notary(_Section):
    """The notary committee's cut rule (docs/notary.md). Every member must run the same values:
    they fix which calls a LogBlock candidate holds, and members sign only identical candidates."""

    # A LogBlock covers at most this many receipts (and at most `logblock_leaves_max`, which
    # a transaction can carry) ...
    logblock_receipts: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    # ... and only calls included within this much block time of the range's first call; the
    # range is cut once a committed block is that much later.
    logblock_interval_ms: Annotated[int, Field(ge=1, le=86_400_000)] = 60_000
    # A member that holds a quorum of shares but is not the range's designated submitter
    # submits only if the range is still open this long after (duplicates cost a fee).
    submit_wait_ms: Annotated[int, Field(ge=0, le=600_000)] = 3_000


class Executor(_Section):
    """How an executor drawn for an app it has not kept up with catches up (docs/executor.md
    "Hand-over")."""

    # A gap of at most this many calls is closed by running them from the committed blocks;
    # past it the app's state is first asked of a replica that ran the app.
    replay_calls_max: Annotated[int, Field(ge=0, le=1_000_000)] = 256
    # How long to wait for a replica's state before running the whole gap from the blocks.
    handover_wait_ms: Annotated[int, Field(ge=1, le=600_000)] = 2_000


GatewayUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+$")]
AppIdHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Storage(_Section):
    """Relay storage (docs/storage.md): the other storage nodes' gateways, where this node
    challenges the holders of blobs it holds a share of and fetches shares to rebuild one the
    chain moved to it; without any, it stores and serves shares but neither challenges nor
    repairs."""

    gateways: Annotated[list[GatewayUrl], Field(max_length=1_000)] = []
    # Challenges (and repairs) run at each height that is a multiple of this.
    challenge_blocks: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    # A blob's holders are challenged only this many blocks after its placement: its owner
    # uploads the shares after the placement commits.
    grace_blocks: Annotated[int, Field(ge=0, le=1_000_000)] = 100


class Court(_Section):
    """What an executor node does on its own in the court (docs/court.md "Who opens a
    challenge")."""

    # An executor that ran a call (drawn as its replica) and sees a committed LogBlock notarise
    # another executor's receipt of it with a different result challenges that receipt with
    # its own (ChallengeReceipt), once, bonded from its account.
    watch: bool = True
    # Apps this node follows without being drawn for them ("all", or app ids in hex): it runs
    # each of their calls from the blocks as a replica would and signs a receipt of it that it
    # keeps but never publishes (nothing to notarise, no reward), so that `watch` challenges a
    # notarised receipt whose result differs. Needs the executor role.
    watch_apps: Literal["all"] | Annotated[list[AppIdHex], Field(max_length=1_000)] = []

    def watches(self, app_id: bytes) -> bool:
        return self.watch_apps == "all" or app_id.hex() in self.watch_apps


class Log(_Section):
    # Records below this level are neither formatted nor written; `metanode start --log-level`
    # overrides it.
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # node.log is rotated past this size, and `files_max` older files are kept (node.log.1 is
    # the newest of them). At the info level a node writes about one 250-byte line per block
    # (0.2 MB an hour at the idle block rate), so 10 MiB holds about two days of an idle node
    # and the defaults cap the logs at 60 MiB.
    file_bytes_max: Annotated[int, Field(ge=64 * 1024, le=1024 * 1024 * 1024)] = 10 * 1024 * 1024
    files_max: Annotated[int, Field(ge=1, le=100)] = 5


class Guard(_Section):
    """The anomaly guard of the gateway and the peer links (docs/security.md)."""

    # Requests per second (and burst) a gateway client may send before it is throttled.
    client_requests_per_second: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    client_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    # Client addresses and peer node ids the guard never throttles or bans (an operator's
    # allow from the start). Loopback by default: a local load generator or a reverse proxy on
    # the same host is not an attacker; a public gateway behind a proxy lists nothing here.
    allow: Annotated[list[str], Field(max_length=1_000)] = ["127.0.0.1", "::1"]
    # Client addresses whose `POST /api/v1/security/override` is obeyed.
    operators: Annotated[list[str], Field(max_length=100)] = ["127.0.0.1", "::1"]
    # Whether the learned model (an IsolationForest fitted at start, about 3 s of CPU off the
    # loop) scores beside the rules; off by default, so that the many short-lived nodes of a
    # local network or a test suite do not pay for it. A public gateway turns it on.
    model: bool = False
    # A file (relative to the node's home) the guard appends what it observes to: each
    # request, frame and offence with its subject, size and verdict, no payloads (guard/record.py,
    # docs/security.md "Recordings"); unset, nothing is recorded.
    record: str | None = None


class Testing(_Section):
    """A test harness, refused on any chain but a dev chain (node/misbehaviour.py), in the
    manner of CometBFT's e2e `misbehaviors`: at each of these heights the node signs and sends,
    after its prepare, a second prepare for another block: equivocation, for the evidence and
    slashing path to be tested on real processes."""

    double_prepare_heights: Annotated[list[Height], Field(max_length=10_000)] = []
    # The node's executor lies in every receipt it signs (node/misbehaviour.py `falsify`
    # names each lie), for the court to catch.
    executor_lie: Literal["", "output", "state_root", "dropped_write", "forged_read", "copied"] = ""
    # The node's executor runs its calls and keeps its receipts, but neither gossips them nor
    # answers for them: a replica the notaries leave out as silent, whose `[court] watch`
    # then challenges a false receipt they notarised without it.
    silent_executor: bool = False
    # The node's proposals leave out every transaction of these senders (addresses): a
    # censoring proposer, for the inclusion lists to catch (docs/inclusion.md).
    censor: Annotated[list[str], Field(max_length=100)] = []
    # The node gossips none of its clients' transactions: its peers first meet them in its
    # compact proposals and must fetch them (GET_TXS, node/compact.py).
    withhold_gossip: bool = False


class Dev(_Section):
    """A one-validator dev chain (`metanode dev up`, docs/devloop.md), refused on any chain but
    a dev chain of one validator: the node proposes as soon as a transaction is pending and
    commits at once, and its gateway serves the dev tools (snapshots, revert, time travel,
    funding). Only the pacing differs: the same state machine, signatures, CBOR and LMDB."""

    automine: bool = False
    # With `automine`, an empty block this long after the last block when nothing is pending
    # (apps that read block time see it move); 0: no empty blocks, the chain waits.
    block_interval_ms: Annotated[int, Field(ge=0, le=86_400_000)] = 0


class Sync(_Section):
    """State snapshots and state sync (docs/sync.md)."""

    # A snapshot of the state every this many blocks, for peers that join by state sync (and
    # for `snapshots.restore_latest`); 0: none.
    snapshot_interval_blocks: Annotated[int, Field(ge=0, le=10**9)] = 0
    snapshots_keep: Annotated[int, Field(ge=1, le=100)] = 2
    # A node whose ledger holds only genesis fetches a verified snapshot from its peers and
    # block-syncs from there, instead of replaying every block (`metanode start --state-sync`).
    state_sync: bool = False


Role = Literal["validator", "gateway", "executor", "notary"]
ROLES: tuple[Role, ...] = ("validator", "gateway", "executor", "notary")


class Server(_Section):
    """`bpci server` (docs/server.md): the roles this node runs, when it counts as ready, and
    how its supervisor restarts it. `reload` applies the readiness bounds and the restart
    settings (and `[log] level`) to a running server; everything else takes a restart."""

    # validator: signs consensus messages while in the validator set (without it the node
    # follows the chain and signs nothing); gateway: serves the API beyond the operator's
    # reads (/health, /ready, /metrics, /api/v1/status); executor: runs the app calls it is
    # drawn for; notary: cuts and signs LogBlocks.
    roles: Annotated[list[Role], Field(min_length=1)] = list(ROLES)
    # Ready (GET /ready) only while at most this many blocks behind the best height peers
    # announce ...
    ready_lag_blocks_max: Annotated[int, Field(ge=0, le=1_000_000)] = 5
    # ... and with at least this many peers connected; unset: 1 if the config names a peer,
    # else 0 (a chain of one node is ready alone).
    ready_peers_min: Annotated[int, Field(ge=0, le=1_000)] | None = None
    # After a crash the supervisor waits `restart_backoff_ms`, doubled for each crash in a row
    # up to `restart_backoff_max_ms`; the `crash_loop_restarts_max`th crash within
    # `crash_loop_window_s` stops it, with the reason, instead of restarting forever.
    restart_backoff_ms: Annotated[int, Field(ge=0, le=600_000)] = 500
    restart_backoff_max_ms: Annotated[int, Field(ge=0, le=3_600_000)] = 30_000
    crash_loop_restarts_max: Annotated[int, Field(ge=1, le=1_000)] = 5
    crash_loop_window_s: Annotated[int, Field(ge=1, le=86_400)] = 300
    # Check the store against its certified chain (`metanode store check`) before every start;
    # a store that fails is set aside and the node recovers (docs/server.md "Recovery").
    check_store_on_start: bool = True

    @field_validator("roles")
    @classmethod
    def _roles_once_each(cls, roles: list[Role]) -> list[Role]:
        repeated = sorted({role for role in roles if roles.count(role) > 1})
        if repeated:
            raise ValueError(f"each role at most once; repeated: {', '.join(repeated)}")
        return roles

    @model_validator(mode="after")
    def _backoff_within_its_cap(self) -> Server:
        _not_above(
            self, "restart_backoff_ms", "restart_backoff_max_ms", "the first wait is the shortest"
        )
        return self


class NodeConfig(_Section):
    name: str
    genesis: str = "../../genesis.json"
    key_file: str = "validator.key"
    # Only dev chains may keep the key password in the config (as Anvil's well-known dev keys);
    # anywhere else the node reads METANODE_KEY_PASSWORD.
    key_password: str | None = None
    # A funded dev account whose key pays out faucet requests made through the gateway.
    faucet_key_file: str | None = None
    p2p: P2P
    api: Api
    consensus: Consensus = Consensus()
    mempool: Mempool = Mempool()
    notary: Notary = Notary()
    executor: Executor = Executor()
    storage: Storage = Storage()
    court: Court = Court()
    # LMDB map size of the ledger, in MiB.
    ledger_map_mib: Annotated[int, Field(ge=64, le=1024 * 1024)] = 4096
    log: Log = Log()
    guard: Guard = Guard()
    testing: Testing = Testing()
    dev: Dev = Dev()
    sync: Sync = Sync()
    server: Server = Server()

    @property
    def ready_peers_min(self) -> int:
        configured = self.server.ready_peers_min
        return min(1, len(self.p2p.peers)) if configured is None else configured

    @model_validator(mode="after")
    def _faucet_needs_the_gateway(self) -> NodeConfig:
        if self.faucet_key_file is not None and "gateway" not in self.server.roles:
            raise ValueError(
                "server.roles: faucet_key_file is set, but the faucet is paid out through the "
                'gateway, which these roles leave out; add "gateway" or remove faucet_key_file'
            )
        return self


# What a running node applies on reload; every other setting is read once, at its start.
RELOADABLE = frozenset(
    {f"server.{name}" for name in Server.model_fields if name != "roles"} | {"log.level"}
)


def changed_needing_restart(running: NodeConfig, new: NodeConfig) -> list[str]:
    """The settings, dotted (`consensus.block_txs_max`), that differ between `running` and
    `new` and that a reload does not apply."""
    before, after = _flat(running.model_dump()), _flat(new.model_dump())
    return sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name) and name not in RELOADABLE
    )


def _flat(tree: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def describe(error: ValidationError, source: Path) -> str:
    lines = [f"{source}: invalid configuration"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def load(path: Path) -> NodeConfig:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the node configuration {path}: {error.strerror}") from None
    try:
        tree = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not a UTF-8 TOML file (byte {error.start} cannot be UTF-8); "
            "a node's configuration is the config.toml that `metanode init` writes"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return NodeConfig.model_validate(tree)
    except ValidationError as error:
        raise ConfigError(describe(error, path)) from None


def resolve(config_path: Path, relative: str) -> Path:
    return (config_path.parent / relative).resolve()


def to_toml(config: NodeConfig) -> str:
    """The configuration as TOML (what `init` writes), defaults included so operators see them."""
    lines = [f"name = {_q(config.name)}", f"genesis = {_q(config.genesis)}"]
    lines.append(f"key_file = {_q(config.key_file)}")
    if config.key_password is not None:
        lines.append(f"key_password = {_q(config.key_password)}")
    if config.faucet_key_file is not None:
        lines.append(f"faucet_key_file = {_q(config.faucet_key_file)}")
    lines.append(f"ledger_map_mib = {config.ledger_map_mib}")
    lines += ["", "[p2p]", f"hybrid = {'true' if config.p2p.hybrid else 'false'}"]
    lines += ["", "[p2p.listen]", f"host = {_q(config.p2p.listen.host)}"]
    lines.append(f"port = {config.p2p.listen.port}")
    for peer in config.p2p.peers:
        lines += ["", "[[p2p.peers]]", f"name = {_q(peer.name)}", f"node_id = {_q(peer.node_id)}"]
        lines += [f"host = {_q(peer.host)}", f"port = {peer.port}"]
        lines.append(f"certificate = {_q(peer.certificate)}")
    lines += ["", "[api]", f"faucet_requests_per_minute = {config.api.faucet_requests_per_minute}"]
    lines.append(f"quarantine_calls_per_minute = {config.api.quarantine_calls_per_minute}")
    lines.append(f"request_bytes_max = {config.api.request_bytes_max}")
    lines.append(f"connections_max = {config.api.connections_max}")
    lines.append(f"connections_per_client_max = {config.api.connections_per_client_max}")
    lines.append(f"header_timeout_ms = {config.api.header_timeout_ms}")
    lines.append(f"body_timeout_ms = {config.api.body_timeout_ms}")
    lines += ["", "[api.listen]", f"host = {_q(config.api.listen.host)}"]
    lines.append(f"port = {config.api.listen.port}")
    consensus = config.consensus
    lines += ["", "[consensus]", f"round_timeout_base_ms = {consensus.round_timeout_base_ms}"]
    lines.append(f"block_gather_ms = {consensus.block_gather_ms}")
    lines.append(f"empty_block_delay_ms = {consensus.empty_block_delay_ms}")
    lines.append(f"block_txs_max = {consensus.block_txs_max}")
    lines += ["", "[mempool]", f"txs_max = {config.mempool.txs_max}"]
    lines.append(f"clients_txs_max = {config.mempool.clients_txs_max}")
    lines.append(f"admission_blocks = {config.mempool.admission_blocks}")
    lines.append(f"admission_window_blocks = {config.mempool.admission_window_blocks}")
    lines.append(f"admission_txs_min = {config.mempool.admission_txs_min}")
    notary = config.notary
    lines += ["", "[notary]", f"logblock_receipts = {notary.logblock_receipts}"]
    lines.append(f"logblock_interval_ms = {notary.logblock_interval_ms}")
    lines.append(f"submit_wait_ms = {notary.submit_wait_ms}")
    executor = config.executor
    server = config.server
    roles = ", ".join(_q(role) for role in server.roles)
    lines += ["", "[server]", f"roles = [{roles}]"]
    lines.append(f"ready_lag_blocks_max = {server.ready_lag_blocks_max}")
    if server.ready_peers_min is not None:
        lines.append(f"ready_peers_min = {server.ready_peers_min}")
    lines.append(f"restart_backoff_ms = {server.restart_backoff_ms}")
    lines.append(f"restart_backoff_max_ms = {server.restart_backoff_max_ms}")
    lines.append(f"crash_loop_restarts_max = {server.crash_loop_restarts_max}")
    lines.append(f"crash_loop_window_s = {server.crash_loop_window_s}")
    lines.append(f"check_store_on_start = {str(server.check_store_on_start).lower()}")
    lines += ["", "[executor]", f"replay_calls_max = {executor.replay_calls_max}"]
    lines.append(f"handover_wait_ms = {executor.handover_wait_ms}")
    storage = config.storage
    lines += ["", "[storage]", f"gateways = [{', '.join(map(_q, storage.gateways))}]"]
    lines.append(f"challenge_blocks = {storage.challenge_blocks}")
    lines.append(f"grace_blocks = {storage.grace_blocks}")
    court = config.court
    lines += ["", "[court]", f"watch = {str(court.watch).lower()}"]
    watched = court.watch_apps
    shown = _q(watched) if isinstance(watched, str) else f"[{', '.join(map(_q, watched))}]"
    lines.append(f"watch_apps = {shown}")
    lines += ["", "[log]", f"level = {_q(config.log.level)}"]
    lines.append(f"file_bytes_max = {config.log.file_bytes_max}")
    lines.append(f"files_max = {config.log.files_max}")
    sync = config.sync
    lines += ["", "[sync]", f"snapshot_interval_blocks = {sync.snapshot_interval_blocks}"]
    lines.append(f"snapshots_keep = {sync.snapshots_keep}")
    lines.append(f"state_sync = {str(sync.state_sync).lower()}")
    guard = config.guard
    lines += ["", "[guard]", f"client_requests_per_second = {guard.client_requests_per_second}"]
    lines.append(f"client_burst = {guard.client_burst}")
    lines.append(f"allow = [{', '.join(_q(item) for item in guard.allow)}]")
    lines.append(f"operators = [{', '.join(_q(item) for item in guard.operators)}]")
    lines.append(f"model = {'true' if guard.model else 'false'}")
    if guard.record is not None:
        lines.append(f"record = {_q(guard.record)}")
    testing = config.testing
    if testing.double_prepare_heights or testing.executor_lie or testing.censor:  # where set
        lines += ["", "[testing]"]
    if testing.double_prepare_heights:
        heights = ", ".join(str(height) for height in testing.double_prepare_heights)
        lines.append(f"double_prepare_heights = [{heights}]")
    if testing.executor_lie:
        lines.append(f"executor_lie = {_q(testing.executor_lie)}")
    if testing.censor:
        lines.append(f"censor = [{', '.join(_q(item) for item in testing.censor)}]")
    if config.dev.automine:  # as [testing]: a dev chain's section appears only where it is set
        lines += ["", "[dev]", "automine = true"]
        lines.append(f"block_interval_ms = {config.dev.block_interval_ms}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
