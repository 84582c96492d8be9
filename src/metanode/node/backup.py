"""Backups of one node: `bpci backup` and `bpci restore` (docs/backup.md).

Theory of operation. A backup is a consistent copy of the node's stores and the files it needs
to start, encrypted under a passphrase:
- the ledger (and the executor's app state, when the node has one) are copied with LMDB's
  compacting copy, each in one read transaction: safe beside the running node, which goes on
  committing; the copy is of the height that was the tip when the copy began;
- beside them: the node's config.toml, its TLS certificate, the certificates of the peers it
  admitted, and every file its config names (genesis, key files, peers' certificates), under
  their paths relative to the network home. The key files stay encrypted under the node's own
  passphrase inside the backup;
- the consensus write-ahead record is left out: it describes the heights being decided when the
  copy was made, long past when a backup is restored.

File format (version 1):
    MAGIC ‖ u32 header length ‖ header ‖ segment*
    header  = deterministic CBOR, tagged `metanode/backup/v1`:
              [1, chain_id, genesis_hash, height, block_hash, state_root, node_name,
               ["argon2id", time_cost, memory_kib, parallelism, salt], check]
    segment = u32 length ‖ last (0 or 1) ‖ ChaCha20-Poly1305(key, nonce, plaintext, header)
A tar stream of the files is cut into `segment_bytes` pieces; each piece is sealed with the
header as associated data and the nonce (segment index u88 ‖ last), so a changed header, a
reordered, dropped or altered segment, and a file cut short (no segment marked last) all fail
authentication. The key and a password check come from Argon2id and HKDF (crypto/keystore.py,
label `metanode backup`): a wrong passphrase is told from an altered file, as in key files.
Segments stream: neither writing nor reading holds more than one segment in memory.

Restore unpacks into a temporary directory inside the target home, then checks the copy against
the chain before anything is installed: the ledger's tip is the header's (chain, genesis,
height, block hash, state root); the tip's commit certificate is verified against the validator
set the restored state holds for that height, which must be the set the header names (the
checks of block sync and of the light client's `verify_own`);
the state tree's root is recomputed from every restored key and value and must equal the
certified header's state root. Only then are the files moved into place (renames within one
file system; the node's directory last, so its presence means the restore finished). Any
failure removes the temporary directory: the target home is as it was.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import shutil
import struct
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import argon2.exceptions
import cbor2

from metanode.codec import decode, encode, tags
from metanode.consensus.certificate import verify_certificate
from metanode.consensus.real_suite import RealSuite
from metanode.crypto import keystore, symmetric
from metanode.errors import ConfigError, DecodeError, MetanodeError, VerificationError
from metanode.state import tree
from metanode.state.staking import queries as staking_queries
from metanode.state.store import LEDGER_DIR, Store, compact_copy

from . import config as node_config
from .chain import consensus_set

log = logging.getLogger("metanode.node")

MAGIC = b"METANODE-BACKUP\n"
VERSION = 1
LABEL = b"metanode backup"
segment_bytes = 1 << 20
header_bytes_max = 4_096
NODES_DIR = "nodes"
EXECUTOR_DIR = "executor"
DATA_FILE = "data.mdb"
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16


class BackupError(MetanodeError):
    """A backup cannot be written, read or restored; the subclass says why."""


class NotABackup(BackupError):
    """The file is not a Metanode backup, or of a version this node does not read."""


class WrongPassphrase(BackupError):
    """The passphrase does not open the backup."""


class BackupAltered(BackupError):
    """The backup fails authentication: altered, reordered or cut short."""


class WrongChain(BackupError):
    """The backup is of another chain than the one the target home holds."""


class BackupRefused(BackupError):
    """The backup decrypts, but its copy of the chain does not verify (certificate, state root,
    or the tip it claims)."""


@dataclass(frozen=True, slots=True)
class Tip:
    """What a ledger copy holds at its tip, verified by `verify_ledger`."""

    chain_id: str
    genesis_hash: bytes
    height: int
    block_hash: bytes
    state_root: bytes


@dataclass(frozen=True, slots=True)
class Header:
    tip: Tip
    node_name: str
    params: keystore.KdfParams
    salt: bytes
    check: bytes

    def encode(self) -> bytes:
        tip, params = self.tip, self.params
        kdf = ["argon2id", params.time_cost, params.memory_kib, params.parallelism, self.salt]
        fields = [
            VERSION,
            tip.chain_id,
            tip.genesis_hash,
            tip.height,
            tip.block_hash,
            tip.state_root,
            self.node_name,
            kdf,
            self.check,
        ]
        return encode(cbor2.CBORTag(tags.BACKUP.number, fields))

    @classmethod
    def decode(cls, data: bytes) -> Header:
        try:
            value = decode(data)
        except DecodeError as error:
            raise NotABackup(f"the backup's header does not decode ({error.rule})") from None
        if not isinstance(value, cbor2.CBORTag) or value.tag != tags.BACKUP.number:
            raise NotABackup("the header is not a Metanode backup header")
        fields = value.value
        if not (isinstance(fields, tuple) and len(fields) == 9 and fields[0] == VERSION):
            raise NotABackup(
                f"a backup of an unknown layout or version (this node reads {VERSION})"
            )
        _, chain_id, genesis_hash, height, block_hash, state_root, name, kdf, check = fields
        shape_ok = (
            isinstance(chain_id, str)
            and all(
                isinstance(item, bytes) and len(item) == 32
                for item in (genesis_hash, block_hash, state_root)
            )
            and type(height) is int
            and height >= 0
            and isinstance(name, str)
            and _plain_name(name)
            and isinstance(kdf, tuple)
            and len(kdf) == 5
            and kdf[0] == "argon2id"
            and all(type(item) is int for item in kdf[1:4])
            and isinstance(kdf[4], bytes)
            and len(kdf[4]) == keystore.SALT_BYTES
            and isinstance(check, bytes)
            and len(check) == keystore.CHECK_BYTES
        )
        if not shape_ok:
            raise NotABackup("the backup's header has malformed fields")
        params = keystore.KdfParams(kdf[1], kdf[2], kdf[3])
        try:
            params.check()
        except MetanodeError as error:
            raise NotABackup(str(error)) from None
        tip = Tip(chain_id, genesis_hash, height, block_hash, state_root)
        return cls(tip, name, params, kdf[4], check)


def _plain_name(name: str) -> bool:
    return (
        0 < len(name) <= 64 and name not in (".", "..") and "/" not in name and "\x00" not in name
    )


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(symmetric.AEAD_NONCE_BYTES - 1, "big") + bytes([last])


class _Sealer(io.RawIOBase):
    """A write-only stream that seals what is written into segments (the tar stream's sink)."""

    def __init__(
        self, out: BinaryIO, key: bytes, associated: bytes, segment: int = segment_bytes
    ) -> None:
        super().__init__()
        self._segment = segment
        self._out = out
        self._key = key
        self._associated = associated
        self._buffer = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) > self._segment:
            self._emit(bytes(self._buffer[: self._segment]), last=False)
            del self._buffer[: self._segment]
        return len(data)

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, plaintext: bytes, *, last: bool) -> None:
        sealed = symmetric.seal(self._key, _nonce(self._index, last), plaintext, self._associated)
        self._out.write(_LENGTH.pack(len(sealed)) + bytes([last]) + sealed)
        self._index += 1


class _Opener(io.RawIOBase):
    """A read-only stream of the plaintext of a backup's segments, each checked as it is read."""

    def __init__(self, source: BinaryIO, key: bytes, associated: bytes) -> None:
        super().__init__()
        self._source = source
        self._key = key
        self._associated = associated
        self._plain = b""
        self._index = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._plain and not self._done:
            self._plain = self._next_segment()
        count = min(len(buffer), len(self._plain))
        buffer[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def _next_segment(self) -> bytes:
        prefix = self._source.read(_LENGTH.size + 1)
        if len(prefix) < _LENGTH.size + 1:
            raise BackupAltered("the backup is cut short: its last segment is missing")
        (length,) = _LENGTH.unpack(prefix[: _LENGTH.size])
        last = prefix[_LENGTH.size]
        if length > segment_bytes + _TAG_BYTES or last > 1:
            raise BackupAltered(f"segment {self._index} has a malformed length or flag")
        sealed = self._source.read(length)
        if len(sealed) < length:
            raise BackupAltered("the backup is cut short inside a segment")
        try:
            plain = symmetric.open_sealed(
                self._key, _nonce(self._index, bool(last)), sealed, self._associated
            )
        except VerificationError:
            raise BackupAltered(
                f"segment {self._index} fails authentication: the backup was altered"
            ) from None
        self._index += 1
        if last:
            if self._source.read(1):
                raise BackupAltered("bytes follow the backup's last segment")
            self._done = True
        return plain


# Writing ------------------------------------------------------------------------------------


def node_directory(home: Path, name: str) -> Path:
    if not _plain_name(name):
        raise ConfigError(f"--key {name!r}: give a node's name (a directory under {NODES_DIR}/)")
    return home / NODES_DIR / name


def _relative(home: Path, path: Path) -> str:
    relative = os.path.relpath(path.resolve(), home.resolve())
    if relative.startswith(".."):
        raise ConfigError(f"{path} lies outside the home {home}: a backup keeps only its files")
    return relative


def _node_files(home: Path, name: str) -> list[tuple[str, Path]]:
    """(path in the archive, file) for every file the node needs besides its stores."""
    directory = node_directory(home, name)
    config_path = directory / "config.toml"
    if not config_path.is_file():
        raise ConfigError(f"{directory} holds no node (no config.toml)")
    cfg = node_config.load(config_path)
    named = [directory / "node.pem", node_config.resolve(config_path, cfg.key_file)]
    named.append(node_config.resolve(config_path, cfg.genesis))
    if cfg.faucet_key_file is not None:
        named.append(node_config.resolve(config_path, cfg.faucet_key_file))
    named += [node_config.resolve(config_path, peer.certificate) for peer in cfg.p2p.peers]
    admitted = directory / "admitted"
    if admitted.is_dir():
        named += sorted(path for path in admitted.iterdir() if path.is_file())
    files = {_relative(home, config_path): config_path}
    for path in named:
        if not path.is_file():
            raise ConfigError(f"{path}, which the node needs, is missing")
        files[_relative(home, path)] = path
    return sorted(files.items())


def write_backup(
    home: Path,
    name: str,
    out: Path,
    passphrase: str,
    *,
    params: keystore.KdfParams = keystore.DEFAULT_PARAMS,
) -> Header:
    """Back node `name` of `home` up into `out` (replaced atomically, mode 0600)."""
    if not passphrase:
        raise ConfigError("refusing to write a backup with an empty passphrase")
    directory = node_directory(home, name)
    files = _node_files(home, name)
    work = Path(_temporary_directory(out.parent, "backup"))
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        stores = [(LEDGER_DIR, work / LEDGER_DIR)]
        compact_copy(directory / LEDGER_DIR, work / LEDGER_DIR)
        if (directory / EXECUTOR_DIR / DATA_FILE).is_file():
            compact_copy(directory / EXECUTOR_DIR, work / EXECUTOR_DIR)
            stores.append((EXECUTOR_DIR, work / EXECUTOR_DIR))
        # The ledger copy checks itself before it is sealed: a backup that would not restore
        # is refused now, not on the day it is needed.
        tip = verify_ledger(work / LEDGER_DIR)
        salt = secrets.token_bytes(keystore.SALT_BYTES)
        key, check = keystore.derive_keys(passphrase, salt, params, LABEL)
        header = Header(tip, name, params, salt, check)
        header_bytes = header.encode()
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes)
            sealer = _Sealer(handle, key, header_bytes)
            with tarfile.open(fileobj=sealer, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                for arcname, path in files:
                    archive.add(path, arcname=arcname, recursive=False)
                for store_dir, copied in stores:
                    arcname = f"{NODES_DIR}/{name}/{store_dir}/{DATA_FILE}"
                    archive.add(copied / DATA_FILE, arcname=arcname, recursive=False)
            sealer.finish()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except OSError as error:
        raise BackupError(f"cannot write the backup {out}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            partial.unlink()
    log.info(
        "backup written",
        extra={"node": name, "height": tip.height, "file": str(out), "bytes": out.stat().st_size},
    )
    return header


def _temporary_directory(parent: Path, purpose: str) -> str:
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent / f".{purpose}-{secrets.token_hex(6)}")


# Verifying ----------------------------------------------------------------------------------


def verify_ledger(ledger: Path) -> Tip:
    """The tip of the ledger copy in `ledger`, checked against the chain it claims: the tip
    block is the stored tip, a quorum of the set the state names for that height (the set the
    header commits to) certified it, and the root recomputed from every stored key and value
    is the certified header's state root. Raises BackupRefused."""
    try:
        store = Store.open(ledger, readonly=True)
    except ConfigError as error:
        raise BackupRefused(f"the ledger copy does not open: {error}") from None
    with store, store.snapshot() as snapshot:
        state = snapshot.state()
        height = state.height
        block = snapshot.block(height)
        certificate = store.certificate(height)
        if height == 0 or block is None or certificate is None:
            raise BackupRefused(
                f"the ledger copy's tip {height} has no certified block to verify it by"
            )
        header = block.header
        members = staking_queries.validator_set_at(state.reader, height)
        if members is None:
            raise BackupRefused(f"the ledger copy holds no validator set for its tip {height}")
        validators = consensus_set(members)
        try:
            if header.chain_id != store.genesis.chain_id:
                raise VerificationError(f"the tip is a header of chain {header.chain_id!r}")
            if validators.hash() != header.validator_set_hash:
                raise VerificationError("the state's set is not the one the header names")
            # The check block sync and the light client make: a quorum of the set signed it.
            verify_certificate(certificate, header.hash(), validators, RealSuite(None))
        except VerificationError as error:
            raise BackupRefused(f"the tip's certificate does not verify: {error}") from None
        if (state.block_hash, state.state_root) != (header.hash(), header.state_root):
            raise BackupRefused(f"the ledger's tip is not its stored block {height}")
        recomputed = tree.update(tree.MemoryNodes(), None, height, list(state.reader.scan(b"")))
        if recomputed.root != header.state_root:
            raise BackupRefused(
                f"the state copied recomputes to root {recomputed.root.hex()}, the certified "
                f"header of height {height} names {header.state_root.hex()}"
            )
        return Tip(
            store.genesis.chain_id, store.genesis.hash(), height, header.hash(), header.state_root
        )


# Restoring ----------------------------------------------------------------------------------


def read_header(source: BinaryIO) -> tuple[Header, bytes]:
    """The header of the backup read from `source` (left at its first segment) and its bytes."""
    start = source.read(len(MAGIC) + _LENGTH.size)
    if start[: len(MAGIC)] != MAGIC or len(start) < len(MAGIC) + _LENGTH.size:
        raise NotABackup("the file is not a Metanode backup")
    (length,) = _LENGTH.unpack(start[len(MAGIC) :])
    if length > header_bytes_max:
        raise NotABackup(f"the backup's header claims {length} bytes (at most {header_bytes_max})")
    header_bytes = source.read(length)
    return Header.decode(header_bytes), header_bytes


def _key(header: Header, passphrase: str) -> bytes:
    try:
        key, check = keystore.derive_keys(passphrase, header.salt, header.params, LABEL)
    except argon2.exceptions.Argon2Error as error:
        raise NotABackup(f"key derivation failed: {error}") from None
    if not secrets.compare_digest(check, header.check):
        raise WrongPassphrase("wrong passphrase for this backup (or its header was altered)")
    return key


@dataclass(frozen=True, slots=True)
class Restored:
    header: Header
    node_directory: Path
    installed: tuple[str, ...]  # files placed outside the node's directory


def restore_backup(path: Path, home: Path, passphrase: str) -> Restored:
    """Restore the backup `path` into the network home `home` (created if need be) after
    checking it against the chain; nothing of `home` changes unless every check passes."""
    try:
        with path.open("rb") as source:
            header, header_bytes = read_header(source)
            target = node_directory(home, header.node_name)
            if target.exists():
                raise ConfigError(f"{target} exists: restore into a home without that node")
            key = _key(header, passphrase)
            work = Path(_temporary_directory(home, "restore"))
            try:
                _unpack(_Opener(source, key, header_bytes), work)
                return _install(header, work, home)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    except OSError as error:
        raise BackupError(f"cannot restore {path}: {error.strerror or error}") from None


def _unpack(plain: _Opener, work: Path) -> None:
    with io.BufferedReader(plain, segment_bytes) as reader:
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:
                # The `data` filter refuses absolute paths, `..`, links and device files.
                archive.extractall(work, filter="data")
        except tarfile.TarError as error:
            raise BackupRefused(f"the backup's archive is malformed: {error}") from None
        if reader.read(1):
            raise BackupRefused("data follows the backup's archive")


def _install(header: Header, work: Path, home: Path) -> Restored:
    name = header.node_name
    unpacked = work / NODES_DIR / name
    tip = verify_ledger(unpacked / LEDGER_DIR)
    if tip != header.tip:
        raise BackupRefused(f"the backup's header names tip {header.tip}, its ledger holds {tip}")
    shared = [path for path in _files(work) if not path.is_relative_to(unpacked)]
    moves: list[tuple[Path, Path]] = []
    for path in shared:
        relative = path.relative_to(work)
        existing = home / relative
        if not existing.exists():
            moves.append((path, existing))
        elif existing.read_bytes() != path.read_bytes():
            if _is_genesis(unpacked, relative):
                raise WrongChain(
                    f"{existing} is another chain's genesis; the backup is of chain "
                    f"{tip.chain_id!r} (genesis {tip.genesis_hash.hex()[:16]}…)"
                )
            raise ConfigError(f"{existing} differs from the backup's copy: move it away first")
    for source, destination in moves:
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
    target = home / NODES_DIR / name
    target.parent.mkdir(parents=True, exist_ok=True)
    # Readers the checks opened left LMDB lock files; the node makes its own.
    for lock in unpacked.glob("*/lock.mdb"):
        lock.unlink()
    os.replace(unpacked, target)
    installed = tuple(str(destination.relative_to(home)) for _, destination in moves)
    log.info(
        "backup restored",
        extra={"node": name, "height": tip.height, "home": str(home), "installed": installed},
    )
    return Restored(header, target, installed)


def _files(root: Path) -> Iterator[Path]:
    return (path for path in sorted(root.rglob("*")) if path.is_file())


def _is_genesis(node_dir: Path, relative: Path) -> bool:
    config_path = node_dir / "config.toml"
    genesis = node_config.resolve(config_path, node_config.load(config_path).genesis)
    home = node_dir.parent.parent
    return Path(os.path.relpath(genesis.resolve(), home.resolve())) == relative
