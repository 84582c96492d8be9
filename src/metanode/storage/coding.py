"""Blobs as chunks, stripes and shares; verified streaming of chunks; erasure coding.

Theory: a blob of `size` bytes is cut into data chunks of `chunk_bytes` (the last one
shorter). Its content address, the *root*, is the RFC 6962 root (crypto/merkle.py) whose
leaves are the BLAKE3 hashes of those chunks, so a reader checks every chunk against the root
as it arrives instead of after the whole blob. (The `blake3` package hashes a whole input and
exposes no verified streaming, and PyPI's `bao` is an unrelated placeholder; a Bao-style
outboard is exactly a hash tree over chunk hashes, which merkle.py already proves.)

The data chunks are grouped k at a time into stripes (the last stripe, and the last chunk,
padded with zero bytes for the coder only), and each stripe is erasure-coded into n chunks of
`chunk_bytes` with `zfec` (Reed–Solomon over GF(2^8), systematic: the first k coded chunks
are the data itself; a maintained C library with wheels for CPython 3.11 that `uv` installs,
whereas pyeclib needs liberasurecode from the system). Share j of a blob is the j-th coded
chunk of every stripe; one node holds one share. The *coded root* is the RFC 6962 root over
the BLAKE3 hashes of all coded chunks in (stripe, share) order, so any coded chunk, answered to
a challenge or fetched by a reader, is checked by its inclusion proof; a chunk of another
blob or a corrupt one fails it. Any k verified chunks of a stripe rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import zfec

from metanode.crypto import merkle
from metanode.crypto.hashing import blake3_hash
from metanode.errors import VerificationError
from metanode.storage import constants
from metanode.storage.errors import ChunkRejected, LayoutInvalid, TooFewChunks


@dataclass(frozen=True, slots=True)
class Layout:
    """How a blob of `size` bytes is cut and coded; checked at construction."""

    size: int
    k: int
    n: int
    chunk_bytes: int = constants.chunk_bytes

    def __post_init__(self) -> None:
        problem = layout_problem(self.size, self.k, self.n, self.chunk_bytes)
        if problem is not None:
            raise LayoutInvalid("layout_invalid", problem)

    @property
    def data_chunks(self) -> int:
        return -(-self.size // self.chunk_bytes)

    @property
    def stripes(self) -> int:
        return -(-self.data_chunks // self.k)

    @property
    def coded_chunks(self) -> int:
        return self.stripes * self.n

    @property
    def share_bytes(self) -> int:
        """What the node holding one share stores."""
        return self.stripes * self.chunk_bytes

    def index(self, stripe: int, share: int) -> int:
        """The coded chunk's leaf index under the coded root."""
        return stripe * self.n + share


def layout_problem(size: int, k: int, n: int, chunk_bytes: int) -> str | None:
    """Why these numbers make no layout, or None: shared by the chain's stateless check."""
    if not 1 <= k <= n <= constants.shares_max:
        return f"need 1 ≤ k ≤ n ≤ {constants.shares_max}, got k={k} n={n}"
    if not constants.chunk_bytes_min <= chunk_bytes <= constants.chunk_bytes:
        return f"chunk_bytes must be 1 … {constants.chunk_bytes}, got {chunk_bytes}"
    if not 1 <= size <= constants.blob_bytes_max:
        return f"a blob is 1 … {constants.blob_bytes_max} bytes, got {size}"
    return None


def chunk_leaf(chunk: bytes) -> bytes:
    return merkle.leaf_hash(blake3_hash(chunk))


@dataclass(frozen=True, slots=True)
class Encoded:
    """A blob coded for placement: its roots and the coded chunks' leaf hashes (the outboard
    every holder keeps to prove its chunks)."""

    layout: Layout
    root: bytes
    coded_root: bytes
    leaves: tuple[bytes, ...]
    chunks: tuple[bytes, ...]  # coded, in (stripe, share) order

    def share(self, share: int) -> list[bytes]:
        """Share `share`'s chunks, one per stripe."""
        layout = self.layout
        return [self.chunks[layout.index(stripe, share)] for stripe in range(layout.stripes)]


def data_chunks(data: bytes, chunk_bytes: int) -> list[bytes]:
    return [data[start : start + chunk_bytes] for start in range(0, len(data), chunk_bytes)]


def content_root(data: bytes, chunk_bytes: int = constants.chunk_bytes) -> bytes:
    return merkle.root_from_leaf_hashes([chunk_leaf(c) for c in data_chunks(data, chunk_bytes)])


def encode(data: bytes, k: int, n: int, chunk_bytes: int = constants.chunk_bytes) -> Encoded:
    layout = Layout(len(data), k, n, chunk_bytes)
    chunks = data_chunks(data, chunk_bytes)
    root = merkle.root_from_leaf_hashes([chunk_leaf(chunk) for chunk in chunks])
    coder = zfec.Encoder(k, n)
    coded: list[bytes] = []
    for stripe in range(layout.stripes):
        group = chunks[stripe * k : (stripe + 1) * k]
        padded = [chunk.ljust(chunk_bytes, b"\x00") for chunk in group]
        padded += [bytes(chunk_bytes)] * (k - len(padded))
        coded.extend(bytes(block) for block in coder.encode(padded))
    leaves = tuple(chunk_leaf(chunk) for chunk in coded)
    return Encoded(layout, root, merkle.root_from_leaf_hashes(leaves), leaves, tuple(coded))


def prove(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return merkle.inclusion_proof(leaves, index)


def verify_chunk(
    layout: Layout,
    coded_root: bytes,
    stripe: int,
    share: int,
    chunk: bytes,
    proof: Sequence[bytes],
) -> None:
    """Raise ChunkRejected unless `chunk` is coded chunk (stripe, share) under `coded_root`."""
    if not (0 <= stripe < layout.stripes and 0 <= share < layout.n):
        raise ChunkRejected(
            "chunk_out_of_range",
            f"({stripe}, {share}) is outside {layout.stripes} stripes × {layout.n} shares",
        )
    if len(chunk) != layout.chunk_bytes:
        raise ChunkRejected(
            "chunk_wrong_size", f"a coded chunk is {layout.chunk_bytes} bytes, got {len(chunk)}"
        )
    try:
        merkle.verify_inclusion(
            chunk_leaf(chunk), layout.index(stripe, share), layout.coded_chunks, proof, coded_root
        )
    except VerificationError as error:
        raise ChunkRejected(
            "chunk_not_in_blob",
            f"chunk ({stripe}, {share}) is not part of blob {coded_root.hex()}: {error}",
        ) from None


def verify_leaves(layout: Layout, coded_root: bytes, leaves: Sequence[bytes]) -> None:
    """An outboard (every coded chunk's leaf hash) must rebuild the coded root."""
    if len(leaves) != layout.coded_chunks or merkle.root_from_leaf_hashes(leaves) != coded_root:
        raise ChunkRejected(
            "leaves_not_of_blob",
            f"the chunk hashes given do not make coded root {coded_root.hex()}",
        )


def decode_stripe(layout: Layout, pieces: dict[int, bytes]) -> list[bytes]:
    """The stripe's k data chunks (padded) from any k of its verified coded chunks, by share."""
    if len(pieces) < layout.k:
        raise TooFewChunks(
            "too_few_chunks", f"{len(pieces)} verified chunks of a stripe, {layout.k} needed"
        )
    shares = sorted(pieces)[: layout.k]
    decoder = zfec.Decoder(layout.k, layout.n)
    return [bytes(block) for block in decoder.decode([pieces[s] for s in shares], shares)]


def rebuild_share(layout: Layout, pieces: dict[int, bytes], share: int) -> bytes:
    """Coded chunk `share` of a stripe, rebuilt from any k of its other chunks (repair)."""
    if share in pieces:
        return pieces[share]
    data = decode_stripe(layout, pieces)
    return bytes(zfec.Encoder(layout.k, layout.n).encode(data, [share])[0])


def assemble(layout: Layout, root: bytes, stripes: Iterable[list[bytes]]) -> bytes:
    """The blob from its decoded stripes, each data chunk checked against the content root."""
    chunks = [chunk for stripe in stripes for chunk in stripe][: layout.data_chunks]
    last = layout.size - (layout.data_chunks - 1) * layout.chunk_bytes
    if chunks:
        chunks[-1] = chunks[-1][:last]
    if len(chunks) != layout.data_chunks or (
        merkle.root_from_leaf_hashes([chunk_leaf(c) for c in chunks]) != root
    ):
        raise ChunkRejected(
            "blob_root_mismatch", f"the chunks decoded do not make root {root.hex()}"
        )
    return b"".join(chunks)


def decode(layout: Layout, root: bytes, pieces: Sequence[dict[int, bytes]]) -> bytes:
    """The blob from verified coded chunks: `pieces[stripe]` maps share → chunk."""
    if len(pieces) != layout.stripes:
        raise TooFewChunks(
            "too_few_chunks", f"chunks for {len(pieces)} stripes given, {layout.stripes} needed"
        )
    return assemble(layout, root, (decode_stripe(layout, stripe) for stripe in pieces))
