"""Personal payloads off chain, each sealed with its subject's own key: erasure by deleting
the key (docs/shadow.md, "Erasure").

Theory. A service or client that must call an app with personal data keeps the data here and
puts on chain only its commitment, `tagged_hash("metanode/shadow/v1", CBOR ["commitment",
salt, payload])`, with a random 32-byte salt so that a guessable payload (a birth date) cannot
be found from its commitment. The payload and its salt are sealed with ChaCha20-Poly1305 under
a random 32-byte key of the payload's subject (associated data: the subject and the
commitment). `erase(subject)` deletes that key: every payload of the subject becomes
unreadable at once, wherever copies of the ciphertext went (backups, replicas), while the
chain, its receipts and audit bundles keep only commitments and still verify.

One LMDB environment, two tables: `keys` (subject → key) and `payloads` (commitment →
[subject, nonce, ciphertext]). A deleted key's bytes stay in LMDB's free pages until they are
reused; `erase` therefore rewrites the environment compacted (`lmdb` copy with compaction, then
a swap), so no page of the file holds the key afterwards. (What the file system or the disk
keeps of old blocks is beyond any file format: encrypt the disk.)
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import lmdb

from metanode.codec import decode, encode, tags
from metanode.crypto import symmetric
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError, MetanodeError, VerificationError

log = logging.getLogger("metanode.vault")
map_bytes = 1 << 30
salt_bytes = 32
subject_bytes_max = 256
payload_bytes_max = 1 << 20


class PayloadErased(MetanodeError):
    """The payload's subject key was deleted: the payload can never be read again."""


class PayloadUnknown(MetanodeError):
    """The vault holds no payload of that commitment."""


def commitment(salt: bytes, payload: bytes) -> bytes:
    return tagged_hash(tags.SHADOW, encode(["commitment", salt, payload]))


@dataclass(frozen=True, slots=True)
class Opened:
    subject: str
    salt: bytes
    payload: bytes


class Vault:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._open()

    def _open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._env = lmdb.open(str(self.path), map_size=map_bytes, max_dbs=2)
        except lmdb.Error as error:
            raise ConfigError(f"cannot open the vault in {self.path}: {error}") from None
        self._keys = self._env.open_db(b"keys")
        self._payloads = self._env.open_db(b"payloads")

    def close(self) -> None:
        self._env.close()

    def put(self, subject: str, payload: bytes) -> bytes:
        """Seal `payload` under the subject's key (made on first use); its commitment."""
        name = _subject(subject)
        if len(payload) > payload_bytes_max:
            raise ConfigError(f"a payload is at most {payload_bytes_max} bytes")
        salt = os.urandom(salt_bytes)
        committed = commitment(salt, payload)
        nonce = os.urandom(symmetric.AEAD_NONCE_BYTES)
        with self._env.begin(write=True) as txn:
            key = txn.get(name, db=self._keys)
            if key is None:
                key = os.urandom(symmetric.AEAD_KEY_BYTES)
                txn.put(name, key, db=self._keys)
            sealed = symmetric.seal(key, nonce, encode([salt, payload]), name + committed)
            txn.put(committed, encode([name, nonce, sealed]), db=self._payloads)
        log.info("payload sealed", extra={"commitment": committed.hex()[:16]})
        return committed

    def get(self, committed: bytes) -> Opened:
        """The payload of `committed`; raises PayloadErased after its subject's erasure."""
        with self._env.begin() as txn:
            stored = txn.get(committed, db=self._payloads)
            if stored is None:
                raise PayloadUnknown(f"no payload of commitment {committed.hex()}")
            name, nonce, sealed = decode(stored)
            key = txn.get(name, db=self._keys)
        if key is None:
            raise PayloadErased(
                f"the subject of commitment {committed.hex()} was erased: its key is gone"
            )
        try:
            salt, payload = decode(symmetric.open_sealed(key, nonce, sealed, name + committed))
        except VerificationError:
            raise VerificationError(f"the payload of {committed.hex()} was altered") from None
        if commitment(salt, payload) != committed:
            raise VerificationError(f"the payload of {committed.hex()} is not its commitment's")
        return Opened(name.decode(), salt, payload)

    def erase(self, subject: str) -> bool:
        """Delete the subject's key, then compact the file so no free page keeps it. True if
        there was a key to delete."""
        name = _subject(subject)
        with self._env.begin(write=True) as txn:
            erased = bool(txn.delete(name, db=self._keys))
        if erased:
            self._compact()
            log.info("subject erased", extra={"subject_bytes": len(name)})
        return erased

    def _compact(self) -> None:
        fresh = self.path.with_name(self.path.name + ".compact")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        self._env.copy(str(fresh), compact=True)
        self._env.close()
        # A rename is atomic: a crash leaves the old file (key still in it) or the new one.
        (fresh / "data.mdb").replace(self.path / "data.mdb")
        (self.path / "lock.mdb").unlink(missing_ok=True)
        shutil.rmtree(fresh)
        self._open()


def _subject(subject: str) -> bytes:
    name = subject.encode("utf-8")
    if not 0 < len(name) <= subject_bytes_max:
        raise ConfigError(f"a subject is 1..{subject_bytes_max} bytes of UTF-8")
    return name
