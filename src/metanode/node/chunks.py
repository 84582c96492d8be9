"""A storage node's chunk store: its own LMDB environment under the node home (`blobs/`),
apart from the ledger so that storing a share never contends with block commits.

Tables:
    leaves  root ‖ share(2)             → the blob's outboard: every coded chunk's leaf hash,
                                          concatenated (what proves any of this share's chunks)
    chunks  root ‖ share(2) ‖ stripe(4) → the coded chunk
A share is checked whole before anything is written (the outboard against the coded root,
each chunk against its leaf) and written in one transaction, so a store holds a share
entirely or not at all: a corrupt chunk, or a chunk of another blob, leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import lmdb

from metanode.crypto.merkle import HASH_BYTES
from metanode.errors import ConfigError
from metanode.storage import coding
from metanode.storage.errors import ChunkRejected

# Enough for every share a node holds under a generous `storage.node_bytes_max`; LMDB maps
# lazily, so the size costs address space, not disk.
map_bytes = 64 * 1024**3


@dataclass(frozen=True, slots=True)
class Share:
    leaves: tuple[bytes, ...]
    chunks: tuple[bytes, ...]  # one per stripe


def _share_key(root: bytes, share: int) -> bytes:
    return root + share.to_bytes(2, "big")


def _chunk_key(root: bytes, share: int, stripe: int) -> bytes:
    return _share_key(root, share) + stripe.to_bytes(4, "big")


def check_share(
    layout: coding.Layout,
    coded_root: bytes,
    share: int,
    leaves: Sequence[bytes],
    chunks: Sequence[bytes],
) -> None:
    """Raise ChunkRejected unless `chunks` are share `share` of the blob under `coded_root`."""
    coding.verify_leaves(layout, coded_root, leaves)
    if not 0 <= share < layout.n or len(chunks) != layout.stripes:
        raise ChunkRejected(
            "share_wrong_shape",
            f"share {share} of a blob of {layout.n} shares has {layout.stripes} chunks, "
            f"got {len(chunks)}",
        )
    for stripe, chunk in enumerate(chunks):
        if coding.chunk_leaf(chunk) != leaves[layout.index(stripe, share)]:
            raise ChunkRejected(
                "chunk_not_in_blob",
                f"chunk {stripe} of share {share} does not hash to its leaf under "
                f"{coded_root.hex()}: corrupt, or of another blob",
            )


class ChunkStore:
    def __init__(self, env: lmdb.Environment) -> None:
        self._env = env
        self._leaves = env.open_db(b"leaves")
        self._chunks = env.open_db(b"chunks")

    @classmethod
    def open(cls, path: Path) -> ChunkStore:
        path.mkdir(parents=True, exist_ok=True)
        try:
            env = lmdb.open(str(path), map_size=map_bytes, max_dbs=2, readahead=False)
        except lmdb.Error as error:
            raise ConfigError(f"cannot open the chunk store in {path}: {error}") from None
        return cls(env)

    def close(self) -> None:
        self._env.close()

    def put_share(
        self,
        layout: coding.Layout,
        root: bytes,
        coded_root: bytes,
        share: int,
        leaves: Sequence[bytes],
        chunks: Sequence[bytes],
    ) -> None:
        check_share(layout, coded_root, share, leaves, chunks)
        with self._env.begin(write=True) as txn:
            txn.put(_share_key(root, share), b"".join(leaves), db=self._leaves)
            for stripe, chunk in enumerate(chunks):
                txn.put(_chunk_key(root, share, stripe), chunk, db=self._chunks)

    def held(self) -> Iterator[tuple[bytes, int]]:
        """(root, share) of every share held, by root then share."""
        with self._env.begin() as txn:
            keys = list(txn.cursor(db=self._leaves).iternext(keys=True, values=False))
        for key in keys:
            yield bytes(key[:HASH_BYTES]), int.from_bytes(key[HASH_BYTES:], "big")

    def drop(self, root: bytes, share: int) -> None:
        """Forget a share (its blob deleted, or the share moved to another node): its outboard
        and every chunk, in one transaction."""
        prefix = _share_key(root, share)
        with self._env.begin(write=True) as txn:
            txn.delete(prefix, db=self._leaves)
            cursor = txn.cursor(db=self._chunks)
            if cursor.set_range(prefix):
                while cursor.key().startswith(prefix) and cursor.delete():
                    pass

    def holds(self, root: bytes, share: int) -> bool:
        with self._env.begin() as txn:
            return txn.get(_share_key(root, share), db=self._leaves) is not None

    def share(self, root: bytes, share: int, stripes: int) -> Share | None:
        with self._env.begin() as txn:
            outboard = txn.get(_share_key(root, share), db=self._leaves)
            if outboard is None:
                return None
            chunks = tuple(
                bytes(txn.get(_chunk_key(root, share, stripe), db=self._chunks))
                for stripe in range(stripes)
            )
        leaves = tuple(
            bytes(outboard[at : at + HASH_BYTES]) for at in range(0, len(outboard), HASH_BYTES)
        )
        return Share(leaves, chunks)
