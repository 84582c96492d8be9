"""storage.coding, .placement and .challenges: round trips from any k shares, every bad chunk
refused with a typed error, placement deterministic and stable."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto.hashing import blake3_hash
from metanode.storage import coding, constants, placement
from metanode.storage.challenges import challenged_stripe
from metanode.storage.errors import ChunkRejected, LayoutInvalid, TooFewChunks
from tests.conftest import examples

CHUNK = 64


def pieces_from(encoded: coding.Encoded, shares: list[int]) -> list[dict[int, bytes]]:
    layout = encoded.layout
    result = []
    for stripe in range(layout.stripes):
        pieces = {}
        for share in shares:
            index = layout.index(stripe, share)
            chunk = encoded.chunks[index]
            proof = coding.prove(encoded.leaves, index)
            coding.verify_chunk(layout, encoded.coded_root, stripe, share, chunk, proof)
            pieces[share] = chunk
        result.append(pieces)
    return result


@settings(max_examples=examples(60), deadline=None)
@given(
    data=st.binary(min_size=1, max_size=1_000),
    k=st.integers(1, 6),
    extra=st.integers(0, 4),
    pick=st.randoms(use_true_random=False),
)
def test_any_k_shares_rebuild_the_blob(data: bytes, k: int, extra: int, pick: object) -> None:
    encoded = coding.encode(data, k, k + extra, CHUNK)
    shares = pick.sample(range(k + extra), k)  # type: ignore[attr-defined]
    assert coding.decode(encoded.layout, encoded.root, pieces_from(encoded, shares)) == data
    assert encoded.root == coding.content_root(data, CHUNK)


def test_four_of_six_every_pair_lost() -> None:
    data = bytes(range(256)) * 7 + b"tail"
    encoded = coding.encode(data, 4, 6, CHUNK)
    assert encoded.layout.stripes == 8  # 29 data chunks in stripes of 4
    for lost in itertools.combinations(range(6), 2):
        alive = [share for share in range(6) if share not in lost]
        assert coding.decode(encoded.layout, encoded.root, pieces_from(encoded, alive)) == data


def test_rebuilt_share_equals_the_original() -> None:
    data = blake3_hash(b"seed", length=900)
    encoded = coding.encode(data, 4, 6, CHUNK)
    layout = encoded.layout
    for stripe, pieces in enumerate(pieces_from(encoded, [1, 2, 4, 5])):
        for share in (0, 3):
            rebuilt = coding.rebuild_share(layout, pieces, share)
            assert rebuilt == encoded.chunks[layout.index(stripe, share)]


def test_systematic_shares_are_the_data() -> None:
    data = bytes(range(200))
    encoded = coding.encode(data, 2, 3, CHUNK)
    assert encoded.chunks[0] == data[:CHUNK] and encoded.chunks[1] == data[CHUNK : 2 * CHUNK]


@pytest.mark.parametrize(
    ("size", "k", "n", "chunk"),
    [
        (0, 1, 1, CHUNK),
        (constants.blob_bytes_max + 1, 1, 1, CHUNK),
        (10, 0, 1, CHUNK),
        (10, 3, 2, CHUNK),
        (10, 1, constants.shares_max + 1, CHUNK),
        (10, 1, 1, 0),
        (10, 1, 1, constants.chunk_bytes + 1),
    ],
)
def test_bad_layouts_are_refused(size: int, k: int, n: int, chunk: int) -> None:
    with pytest.raises(LayoutInvalid) as raised:
        coding.Layout(size, k, n, chunk)
    assert raised.value.reason == "layout_invalid"


@settings(max_examples=examples(40), deadline=None)
@given(position=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_a_corrupt_chunk_is_refused(position: int, flip: int) -> None:
    encoded = coding.encode(b"x" * 500, 3, 5, CHUNK)
    layout = encoded.layout
    index = position % layout.coded_chunks
    stripe, share = divmod(index, layout.n)
    chunk = bytearray(encoded.chunks[index])
    chunk[position % CHUNK] ^= flip
    with pytest.raises(ChunkRejected) as raised:
        coding.verify_chunk(
            layout,
            encoded.coded_root,
            stripe,
            share,
            bytes(chunk),
            coding.prove(encoded.leaves, index),
        )
    assert raised.value.reason == "chunk_not_in_blob"


def test_a_chunk_of_another_blob_or_place_is_refused() -> None:
    one = coding.encode(blake3_hash(b"a", length=300), 2, 4, CHUNK)
    other = coding.encode(b"b" * 300, 2, 4, CHUNK)
    layout = one.layout
    proof = coding.prove(other.leaves, 1)
    with pytest.raises(ChunkRejected, match="chunk_not_in_blob"):
        coding.verify_chunk(layout, one.coded_root, 0, 1, other.chunks[1], proof)
    # The right chunk named at another position.
    with pytest.raises(ChunkRejected, match="chunk_not_in_blob"):
        proof = coding.prove(one.leaves, 1)
        coding.verify_chunk(layout, one.coded_root, 0, 2, one.chunks[1], proof)
    with pytest.raises(ChunkRejected, match="chunk_out_of_range"):
        coding.verify_chunk(layout, one.coded_root, 9, 0, one.chunks[0], [])
    with pytest.raises(ChunkRejected, match="chunk_wrong_size"):
        coding.verify_chunk(layout, one.coded_root, 0, 0, one.chunks[0][:-1], [])
    with pytest.raises(ChunkRejected, match="leaves_not_of_blob"):
        coding.verify_leaves(layout, one.coded_root, other.leaves)


def test_too_few_chunks_and_a_wrong_root() -> None:
    encoded = coding.encode(b"z" * 300, 3, 5, CHUNK)
    pieces = pieces_from(encoded, [0, 4])
    with pytest.raises(TooFewChunks):
        coding.decode(encoded.layout, encoded.root, pieces)
    with pytest.raises(ChunkRejected, match="blob_root_mismatch"):
        coding.decode(encoded.layout, bytes(32), pieces_from(encoded, [0, 1, 2]))


def test_placement_is_deterministic_and_stable() -> None:
    nodes = [blake3_hash(bytes([i]), length=20) for i in range(10)]
    root = blake3_hash(b"blob")
    chosen = placement.place(root, nodes, 6)
    assert chosen is not None and len(set(chosen)) == 6
    assert placement.place(root, reversed(nodes), 6) == chosen
    assert placement.place(root, nodes[:5], 6) is None
    # A node outside the placement leaving moves nothing; one inside moves only its share.
    outside = next(node for node in nodes if node not in chosen)
    assert placement.place(root, [n for n in nodes if n != outside], 6) == chosen
    gone = chosen[2]
    new = placement.replacement(root, nodes, chosen, [gone])
    assert new is not None and new not in chosen
    assert new == next(node for node in placement.ranked(root, nodes) if node not in chosen)
    # On the placement's own nodes only, a survivor takes a second share; the suspected never.
    second = placement.replacement(root, chosen, chosen, [gone, chosen[0]])
    assert second == chosen[1]
    assert placement.replacement(root, chosen[:2], chosen, chosen[:2]) is None


def test_challenge_draw_is_in_range_and_varies() -> None:
    root = blake3_hash(b"blob")
    draws = {challenged_stripe(blake3_hash(bytes([h])), root, 0, 50) for h in range(40)}
    assert all(0 <= draw < 50 for draw in draws) and len(draws) > 10
