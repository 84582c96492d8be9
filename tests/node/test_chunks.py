"""node/chunks: a share is stored whole or not at all, checked against the coded root; the
transport's share body round-trips and refuses what is not one (real LMDB in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.crypto.hashing import blake3_hash
from metanode.node.blobs import Target, parse_share, rebuild, share_body, stripes_of
from metanode.node.chunks import ChunkStore, Share
from metanode.storage import coding
from metanode.storage.errors import ChunkRejected
from tests.conftest import examples

CHUNK = 256


@pytest.fixture
def store(tmp_path: Path) -> ChunkStore:
    opened = ChunkStore.open(tmp_path / "blobs")
    yield opened  # type: ignore[misc]
    opened.close()


def encoded(seed: bytes = b"blob", size: int = 3_000) -> coding.Encoded:
    return coding.encode(blake3_hash(seed, length=size), 4, 6, CHUNK)


def put(store: ChunkStore, blob: coding.Encoded, share: int, chunks: list[bytes]) -> None:
    store.put_share(blob.layout, blob.root, blob.coded_root, share, blob.leaves, chunks)


def test_a_share_is_stored_and_served_with_proofs(store: ChunkStore) -> None:
    blob = encoded()
    put(store, blob, 3, blob.share(3))
    assert store.holds(blob.root, 3) and not store.holds(blob.root, 2)
    held = store.share(blob.root, 3, blob.layout.stripes)
    assert held is not None and held.chunks == tuple(blob.share(3))
    for stripe, chunk in enumerate(held.chunks):
        proof = coding.prove(held.leaves, blob.layout.index(stripe, 3))
        coding.verify_chunk(blob.layout, blob.coded_root, stripe, 3, chunk, proof)


@settings(max_examples=examples(30), deadline=None)
@given(stripe=st.integers(0, 2), position=st.integers(0, CHUNK - 1))
def test_a_corrupt_chunk_leaves_nothing_written(
    tmp_path_factory: object, stripe: int, position: int
) -> None:
    blob = encoded()
    store = ChunkStore.open(tmp_path_factory.mktemp("blobs"))  # type: ignore[attr-defined]
    try:
        chunks = list(blob.share(1))
        chunks[stripe] = (
            chunks[stripe][:position]
            + bytes([chunks[stripe][position] ^ 1])
            + chunks[stripe][position + 1 :]
        )
        with pytest.raises(ChunkRejected) as raised:
            put(store, blob, 1, chunks)
        assert raised.value.reason == "chunk_not_in_blob"
        assert not store.holds(blob.root, 1)
        assert store.share(blob.root, 1, blob.layout.stripes) is None
    finally:
        store.close()


def test_a_share_of_another_blob_or_shape_is_refused(store: ChunkStore) -> None:
    blob, other = encoded(b"one"), encoded(b"two")
    with pytest.raises(ChunkRejected, match="chunk_not_in_blob"):
        put(store, blob, 0, other.share(0))
    with pytest.raises(ChunkRejected, match="leaves_not_of_blob"):
        store.put_share(blob.layout, blob.root, blob.coded_root, 0, other.leaves, blob.share(0))
    with pytest.raises(ChunkRejected, match="share_wrong_shape"):
        put(store, blob, 0, blob.share(0)[:-1])
    with pytest.raises(ChunkRejected, match="share_wrong_shape"):
        put(store, blob, 6, blob.share(0))
    # The right chunks under the wrong share number.
    with pytest.raises(ChunkRejected, match="chunk_not_in_blob"):
        put(store, blob, 2, blob.share(1))
    assert not any(store.holds(blob.root, share) for share in range(6))


def test_share_bodies_round_trip_and_refuse_garbage() -> None:
    blob = encoded()
    body = share_body(blob.leaves, blob.share(2))
    parsed = parse_share(body)
    assert parsed == Share(blob.leaves, tuple(blob.share(2)))
    for garbage in (b"", b"\xff", encode([b"x" * 31, []]), encode([b"", [1]]), encode(5)):
        with pytest.raises(ChunkRejected, match="share_malformed"):
            parse_share(garbage)


def test_rebuild_makes_the_lost_share_from_any_four() -> None:
    blob = encoded(size=5_000)
    target = Target(blob.root, blob.coded_root, blob.layout, ())
    shares = {s: Share(blob.leaves, tuple(blob.share(s))) for s in (0, 2, 4, 5)}
    for lost in (1, 3):
        assert rebuild(target, shares, lost).chunks == tuple(blob.share(lost))
    data = coding.decode(blob.layout, blob.root, stripes_of(blob.layout, shares))
    assert data == blake3_hash(b"blob", length=5_000)
