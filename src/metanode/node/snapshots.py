"""State snapshots and state sync (docs/sync.md): a new node installs the state of a recent
certified height from its peers instead of replaying every block.

Theory of operation.
- Making. Every `[sync] snapshot_interval_blocks` a node writes the state of the height it just
  committed, read in one LMDB read transaction: every key and value in key order, cut into
  chunks of about `chunk_bytes` (each a CBOR array of [key, value]), and a manifest naming the
  chain, the block of that height with its commit certificate and its receipts, and the BLAKE3
  hash of every chunk. The files go to a temporary directory renamed into `snapshots/<height>`;
  the oldest beyond `[sync] snapshots_keep` are removed.
- Serving. `GET_SNAPSHOT [height, index]` (height 0: the latest held; index 0: the manifest,
  i > 0: chunk i - 1) is answered with `SNAPSHOT [height, index, bytes]`, empty when not held.
- Fetching (`Fetch`, no I/O of its own: the node feeds it frames and sends what it asks). The
  manifest is checked on its own first: the block hashes to what its certificate commits, its
  receipts hash to the header's receipts root. Each chunk is checked against the manifest's hash
  as it arrives; a chunk that does not match is asked of another peer, and the peer that sent
  it is asked nothing more of this snapshot. The manifest's sender is blamed at once (its own
  chunk contradicts its manifest); any other sender is blamed once the snapshot verifies, since
  until then the lie may be the manifest's.
  Once every chunk is in, the state tree is rebuilt from the keys and values and its root must
  be the certified header's state root; the validator set the state holds for that height must
  be the set the header names, a quorum of it must have signed the certificate, and validators
  holding more than a third of the genesis set's power must be among the signers (the light
  client's skipping rule from the genesis set: if a third of the genesis set was honest, the
  header is the chain's). Any failure of these blames the manifest's sender and starts over
  with another peer's manifest. Given a `Trust` (a height and its block hash the operator got
  out of band, as a CometBFT light client is given a trusted header), the snapshot is asked at
  that height and its block must be the trusted one, in place of the genesis set's third: a
  chain whose set has changed entirely since genesis can still be joined.
- Installing. `Store.install` replaces the node's (empty) ledger by the snapshot in one write
  transaction; the node then block-syncs the heights after it and follows consensus. Blocks
  below the snapshot are not held: the gateway answers them as absent.

`restore_latest(node_dir)` rebuilds a stopped node's ledger from the newest of its own snapshots
that verifies (for a supervisor's automatic recovery).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2

from metanode.codec import decode, encode, tags
from metanode.consensus.certificate import verify_certificate
from metanode.consensus.real_suite import RealSuite
from metanode.consensus.validators import ValidatorSet
from metanode.crypto.hashing import blake3_hash
from metanode.errors import ConfigError, DecodeError, MetanodeError, VerificationError
from metanode.net.frames import GetSnapshot
from metanode.state import tree
from metanode.state.genesis.document import GenesisDocument
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import receipts_root
from metanode.state.staking import queries as staking_queries
from metanode.state.store import LEDGER_DIR, Store, decode_receipts, encode_receipts
from metanode.types import Address, Block, CommitCertificate

from .chain import consensus_set

log = logging.getLogger("metanode.node")

VERSION = 1
SNAPSHOTS_DIR = "snapshots"
MANIFEST = "manifest"
chunk_bytes = 1 << 20
chunks_max = 100_000
# Chunk requests in flight at once, and how long one may go unanswered before it is asked of
# another peer.
requests_in_flight_max = 4
request_timeout_ms = 5_000


class SnapshotError(MetanodeError):
    """A snapshot (manifest or chunk) is malformed or does not verify; `blame` is the reason a
    peer that sent it is penalised."""

    def __init__(self, blame: str, detail: str) -> None:
        super().__init__(f"{blame}: {detail}")
        self.blame = blame


@dataclass(frozen=True, slots=True)
class Manifest:
    chain_id: str
    block: Block
    certificate: CommitCertificate
    receipts: bytes  # the block's compact receipts (state/store.py's encoding)
    chunk_hashes: tuple[bytes, ...]

    @property
    def height(self) -> int:
        return self.block.header.height

    def encode(self) -> bytes:
        fields = [
            VERSION,
            self.chain_id,
            self.block.encode(),
            self.certificate.encode(),
            self.receipts,
            list(self.chunk_hashes),
        ]
        return encode(cbor2.CBORTag(tags.SNAPSHOT.number, fields))

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """A manifest whose block, certificate and receipts agree (not yet trusted: that takes
        the state its chunks assemble)."""
        try:
            value = decode(data)
        except DecodeError as error:
            raise SnapshotError("snapshot_malformed", f"manifest: {error}") from None
        if not isinstance(value, cbor2.CBORTag) or value.tag != tags.SNAPSHOT.number:
            raise SnapshotError("snapshot_malformed", "not a snapshot manifest")
        fields = value.value
        if not (isinstance(fields, tuple) and len(fields) == 6 and fields[0] == VERSION):
            raise SnapshotError("snapshot_malformed", "a manifest of an unknown layout or version")
        _, chain_id, block_bytes, certificate_bytes, receipts, hashes = fields
        if not (
            isinstance(chain_id, str)
            and isinstance(receipts, bytes)
            and isinstance(hashes, tuple)
            and 0 < len(hashes) <= chunks_max
            and all(isinstance(item, bytes) and len(item) == 32 for item in hashes)
        ):
            raise SnapshotError("snapshot_malformed", "manifest fields of the wrong type")
        try:
            block = Block.decode(_bytes(block_bytes))
            certificate = CommitCertificate.decode(_bytes(certificate_bytes))
            decoded = decode_receipts(receipts, block.txs)
        except (DecodeError, AssertionError) as error:
            raise SnapshotError("snapshot_malformed", f"manifest: {error}") from None
        header = block.header
        if certificate.height != header.height or certificate.block_hash != header.hash():
            raise SnapshotError("snapshot_mismatch", "the certificate is not the block's")
        if receipts_root(decoded) != header.receipts_root:
            raise SnapshotError("snapshot_mismatch", "the receipts are not the block's")
        return cls(chain_id, block, certificate, receipts, hashes)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError("wrong_type", "a manifest field must be a byte string")
    return value


def encode_chunk(items: Sequence[tuple[bytes, bytes]]) -> bytes:
    return encode([[key, value] for key, value in items])


def decode_chunk(data: bytes, after: bytes | None) -> list[tuple[bytes, bytes]]:
    """A chunk's items, keys strictly ascending and above `after` (the last key before it)."""
    try:
        value = decode(data)
    except DecodeError as error:
        raise SnapshotError("snapshot_malformed", f"chunk: {error}") from None
    if not isinstance(value, tuple) or not value:
        raise SnapshotError("snapshot_malformed", "a chunk is a non-empty array of [key, value]")
    items: list[tuple[bytes, bytes]] = []
    last = after
    for pair in value:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], bytes)
            and isinstance(pair[1], bytes)
        ):
            raise SnapshotError("snapshot_malformed", "a chunk item is [key, value] bytes")
        if last is not None and not last < pair[0]:
            raise SnapshotError("snapshot_order", "chunk keys must ascend strictly")
        last = pair[0]
        items.append((pair[0], pair[1]))
    return items


def chunked(items: Iterator[tuple[bytes, bytes]], size: int | None = None) -> Iterator[bytes]:
    """Encoded chunks of about `size` (default `chunk_bytes`) each, in key order. A state is
    never empty (it holds every module's parameters), so neither is a snapshot."""
    size = chunk_bytes if size is None else size
    batch: list[tuple[bytes, bytes]] = []
    held_bytes = 0
    for key, value in items:
        batch.append((key, value))
        held_bytes += len(key) + len(value) + 8
        if held_bytes >= size:
            yield encode_chunk(batch)
            batch, held_bytes = [], 0
    if batch:
        yield encode_chunk(batch)


# Making and serving -----------------------------------------------------------------------


def make(store: Store, directory: Path, keep: int) -> Manifest:
    """Write the snapshot of the store's tip into `directory/<height>` and keep the newest
    `keep`. Reads one LMDB read transaction: safe in a thread beside the node's writer."""
    with store.snapshot() as snapshot:
        state = snapshot.state()
        height = state.height
        block = snapshot.block(height)
        certificate = store.certificate(height)
        if block is None or certificate is None:
            raise ConfigError(f"no certified block at {height} to snapshot")
        receipts = snapshot.receipts(height)
        directory.mkdir(parents=True, exist_ok=True)
        work = directory / f".{height}-{secrets.token_hex(4)}"
        work.mkdir()
        hashes = []
        try:
            for index, chunk in enumerate(chunked(state.reader.scan(b""))):
                (work / str(index)).write_bytes(chunk)
                hashes.append(blake3_hash(chunk))
            manifest = Manifest(
                store.genesis.chain_id,
                block,
                certificate,
                encode_receipts(block.txs, receipts),
                tuple(hashes),
            )
            (work / MANIFEST).write_bytes(manifest.encode())
            final = directory / str(height)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    for old in held(directory)[:-keep]:
        shutil.rmtree(directory / str(old), ignore_errors=True)
    log.info("snapshot made", extra={"height": height, "chunks": len(hashes)})
    return manifest


def held(directory: Path) -> list[int]:
    """Heights of the finished snapshots in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(int(path.name) for path in directory.iterdir() if path.name.isdecimal())


def part(directory: Path, height: int, index: int) -> tuple[int, bytes]:
    """(height, bytes) of a snapshot's manifest (index 0) or chunk index - 1; height 0 asks for
    the newest; b"" when not held."""
    heights = held(directory)
    if height == 0 and heights:
        height = heights[-1]
    name = MANIFEST if index == 0 else str(index - 1)
    path = directory / str(height) / name
    try:
        return height, path.read_bytes() if height in heights else b""
    except OSError:
        return height, b""


# Verifying --------------------------------------------------------------------------------


def genesis_set(genesis: GenesisDocument) -> ValidatorSet:
    return consensus_set(staking_queries.validator_set(MemoryLedger(genesis).state.reader))


@dataclass(frozen=True, slots=True)
class Trust:
    """A block the operator trusts, learnt out of band (`metanode start --trust-height H
    --trust-hash HASH`, as a CometBFT light client is given): the snapshot must be of height
    `height`, its block hashing to `block_hash`; the genesis set's third is not asked then."""

    height: int
    block_hash: bytes


def verify_state(
    manifest: Manifest,
    items: list[tuple[bytes, bytes]],
    trusted: ValidatorSet,
    trust: Trust | None = None,
) -> tree.TreeUpdate:
    """The tree of `items` at the manifest's height, once the state and the certificate verify
    (module docstring); raises SnapshotError."""
    header = manifest.block.header
    if trust is not None and (header.height, header.hash()) != (trust.height, trust.block_hash):
        raise SnapshotError(
            "snapshot_not_trusted",
            f"the snapshot's block {header.height} {header.hash().hex()} is not the trusted "
            f"block {trust.height} {trust.block_hash.hex()}",
        )
    update = tree.update(tree.MemoryNodes(), None, header.height, items)
    if update.root != header.state_root:
        raise SnapshotError(
            "snapshot_root_mismatch",
            f"the chunks assemble to root {update.root.hex()}, the header of height "
            f"{header.height} names {header.state_root.hex()}",
        )
    reader = _ItemsReader(items)
    members = staking_queries.validator_set_at(reader, header.height)
    if members is None:
        raise SnapshotError("snapshot_mismatch", f"no validator set for height {header.height}")
    validators = consensus_set(members)
    if validators.hash() != header.validator_set_hash:
        raise SnapshotError("snapshot_mismatch", "the state's set is not the header's")
    certificate = manifest.certificate
    try:
        verify_certificate(certificate, header.hash(), validators, RealSuite(None))
    except VerificationError as error:
        raise SnapshotError("snapshot_certificate", str(error)) from None
    if trust is not None:
        return update  # the header is the trusted one, and its certificate verifies
    signers = [validators.validators[index] for index in certificate.signer_indexes()]
    vouched = sum(
        member.power
        for signer in signers
        if (member := trusted.get(signer.address)) is not None
        and member.bls_public_key == signer.bls_public_key
    )
    if 3 * vouched <= trusted.total_power:
        raise SnapshotError(
            "snapshot_not_trusted",
            f"signers of height {header.height} hold {vouched} of the genesis set's "
            f"{trusted.total_power} power, not more than a third: replay the blocks instead",
        )
    return update


@dataclass(slots=True)
class _ItemsReader:
    """A `StateReader` over sorted items (the staking queries read the assembled state)."""

    items: list[tuple[bytes, bytes]]
    _index: dict[bytes, bytes] = field(init=False)

    def __post_init__(self) -> None:
        self._index = dict(self.items)

    def get(self, key: bytes) -> bytes | None:
        return self._index.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        start = bisect_left(self.items, (prefix,))
        for key, value in self.items[start:]:
            if not key.startswith(prefix):
                return
            yield key, value


# Fetching ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assembled:
    manifest: Manifest
    items: list[tuple[bytes, bytes]]
    tree: tree.TreeUpdate
    # Peers that served chunks this verified snapshot does not hold: proven wrong now.
    blamed: tuple[Address, ...] = ()


class Fetch:
    """One state sync's progress: which parts are held, asked of whom, and which peers are no
    longer asked (module docstring). No I/O and no clock: the node passes `now_ms`."""

    def __init__(self, chain_id: str, trusted: ValidatorSet, trust: Trust | None = None) -> None:
        """`trusted`: the genesis set, a third of whose power must have signed the snapshot's
        block; with `trust`, the snapshot is asked at its height and must be its block."""
        self.chain_id = chain_id
        self.trusted = trusted
        self.trust = trust
        self.manifest: Manifest | None = None
        self._source: Address | None = None
        self._chunks: dict[int, bytes] = {}
        self._asked: dict[int, tuple[Address, int]] = {}  # part index → (peer, when)
        self._lacking: set[tuple[Address, int]] = set()  # (peer, part) it does not hold
        self._suspects: set[Address] = set()  # served a chunk the manifest does not name
        self.banned: set[Address] = set()

    def requests(self, peers: Sequence[Address], now_ms: int) -> list[tuple[Address, GetSnapshot]]:
        """What to ask next of the connected `peers`: the manifest, or the missing chunks."""
        for index, (_, when) in list(self._asked.items()):
            if now_ms - when >= request_timeout_ms:
                del self._asked[index]
        wanted = [0] if self.manifest is None else self._missing()
        asked_height = 0 if self.trust is None else self.trust.height
        height = asked_height if self.manifest is None else self.manifest.height
        asked: list[tuple[Address, GetSnapshot]] = []
        shunned = self.banned | self._suspects
        candidates = sorted(peer for peer in peers if peer not in shunned)
        for index in wanted:
            if len(self._asked) >= requests_in_flight_max:
                break
            if index in self._asked:
                continue
            able = [peer for peer in candidates if (peer, index) not in self._lacking]
            if not able:
                if self.manifest is None:
                    self._lacking.clear()  # nobody had one yet: ask everyone again later
                continue
            peer = able[(index + len(self._chunks)) % len(able)]
            self._asked[index] = (peer, now_ms)
            asked.append((peer, GetSnapshot(height, index)))
        return asked

    def _missing(self) -> list[int]:
        count = 0 if self.manifest is None else len(self.manifest.chunk_hashes)
        return [index + 1 for index in range(count) if index not in self._chunks]

    def on_part(self, peer: Address, height: int, index: int, data: bytes) -> str | None:
        """Take a `SNAPSHOT` reply; the reason to blame `peer`, if any."""
        if self._asked.get(index, (None,))[0] != peer:
            return None  # not asked of it (a late answer): ignored
        del self._asked[index]
        if peer in self.banned:
            return None  # asked before it was caught: asked of another peer next
        if not data:
            self._lacking.add((peer, index))
            return None
        if index == 0:
            return self._on_manifest(peer, data)
        manifest = self.manifest
        if manifest is None or height != manifest.height or index > len(manifest.chunk_hashes):
            return None
        if blake3_hash(data) != manifest.chunk_hashes[index - 1]:
            log.warning("snapshot chunk refused", extra={"index": index, "peer": str(peer)})
            if peer == self._source:
                self._start_over(peer)
                return "snapshot_chunk_mismatch"
            # Another peer's chunk may differ because the manifest lies, not the chunk: it is
            # asked nothing more of this snapshot, and blamed once the snapshot verifies.
            self._suspects.add(peer)
            return None
        self._chunks[index - 1] = data
        return None

    def _start_over(self, blamed: Address) -> None:
        self.banned.add(blamed)
        self.manifest, self._source = None, None
        self._chunks.clear()
        self._asked.clear()
        self._suspects.clear()

    def _on_manifest(self, peer: Address, data: bytes) -> str | None:
        if self.manifest is not None:
            return None
        try:
            manifest = Manifest.decode(data)
        except SnapshotError as error:
            self.banned.add(peer)
            return error.blame
        if manifest.chain_id != self.chain_id or manifest.block.header.chain_id != self.chain_id:
            self.banned.add(peer)
            return "snapshot_wrong_chain"
        if self.trust is not None and manifest.height != self.trust.height:
            self._lacking.add((peer, 0))  # it holds no snapshot of the trusted height
            return None
        if self.trust is not None and manifest.block.hash() != self.trust.block_hash:
            self.banned.add(peer)  # its certified block of that height is not the trusted one
            return "snapshot_not_trusted"
        self.manifest, self._source = manifest, peer
        log.info(
            "snapshot found",
            extra={
                "height": manifest.height,
                "chunks": len(manifest.chunk_hashes),
                "peer": str(peer),
            },
        )
        return None

    @property
    def complete(self) -> bool:
        return self.manifest is not None and not self._missing()

    def assemble(self) -> Assembled | tuple[Address, str]:
        """The verified state once `complete`; else (the manifest's sender, the blame), and
        the fetch starts over without that peer."""
        manifest = self.manifest
        assert manifest is not None and self._source is not None
        try:
            items: list[tuple[bytes, bytes]] = []
            for index in range(len(manifest.chunk_hashes)):
                items += decode_chunk(self._chunks[index], items[-1][0] if items else None)
            update = verify_state(manifest, items, self.trusted, self.trust)
        except SnapshotError as error:
            blamed = self._source
            log.warning("snapshot refused", extra={"reason": str(error), "peer": str(blamed)})
            self._start_over(blamed)
            return blamed, error.blame
        return Assembled(manifest, items, update, tuple(sorted(self._suspects)))


# Local recovery ---------------------------------------------------------------------------


def read_local(directory: Path, height: int, trusted: ValidatorSet) -> Assembled:
    """The snapshot `directory/<height>`, verified as a fetched one is; raises SnapshotError."""
    folder = directory / str(height)
    try:
        manifest = Manifest.decode((folder / MANIFEST).read_bytes())
        items: list[tuple[bytes, bytes]] = []
        for index, expected in enumerate(manifest.chunk_hashes):
            data = (folder / str(index)).read_bytes()
            if blake3_hash(data) != expected:
                raise SnapshotError("snapshot_chunk_mismatch", f"{folder / str(index)} is damaged")
            items += decode_chunk(data, items[-1][0] if items else None)
    except OSError as error:
        raise SnapshotError("snapshot_missing", f"{folder}: {error.strerror}") from None
    return Assembled(manifest, items, verify_state(manifest, items, trusted))


def restore_latest(node_dir: Path, genesis: GenesisDocument) -> int:
    """Rebuild the ledger of a STOPPED node (`node_dir/ledger`) from the newest of its own
    snapshots (`node_dir/snapshots`) that verifies; answers its height. The new ledger is built
    beside the old one and renamed into place; the old one is kept as `ledger.before-<height>`
    until the caller removes it. Raises SnapshotError when no snapshot verifies. The node then
    block-syncs from its peers as after a state sync (for `bpci server`'s recovery)."""
    directory = node_dir / SNAPSHOTS_DIR
    trusted = genesis_set(genesis)
    reasons = []
    for height in reversed(held(directory)):
        try:
            assembled = read_local(directory, height, trusted)
        except SnapshotError as error:
            reasons.append(f"{height}: {error}")
            continue
        work = node_dir / f".{LEDGER_DIR}-{secrets.token_hex(4)}"
        try:
            with Store.open(work, genesis) as store:
                store.install(
                    assembled.manifest.block,
                    assembled.manifest.certificate,
                    assembled.manifest.receipts,
                    assembled.items,
                    assembled.tree,
                )
            ledger = node_dir / LEDGER_DIR
            if ledger.exists():
                os.replace(ledger, node_dir / f"{LEDGER_DIR}.before-{height}")
            os.replace(work, ledger)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info("ledger restored from a snapshot", extra={"height": height})
        return height
    raise SnapshotError(
        "snapshot_missing",
        f"no snapshot in {directory} verifies ({'; '.join(reasons) or 'none held'})",
    )
