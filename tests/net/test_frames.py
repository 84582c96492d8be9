from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.errors import DecodeError
from metanode.net import constants
from metanode.net.frames import (
    AppState,
    BlockReply,
    Consensus,
    Evidence,
    GetBlock,
    GetSnapshot,
    GetTxs,
    GetTxsByHash,
    Kind,
    NoBlock,
    PeerAnnounce,
    ReceiptItem,
    Receipts,
    Share,
    SnapshotPart,
    Status,
    Txs,
    TxsByHash,
    TxsFor,
    Want,
    Wanted,
    decode_frame,
    encode_frame,
    frame_length,
)
from metanode.types import constants as types_constants

heights = st.integers(0, 2**63)
blobs = st.binary(max_size=64)
frames = st.one_of(
    st.builds(Status, heights),
    st.builds(Consensus, blobs),
    st.builds(Txs, st.lists(blobs, max_size=5).map(tuple)),
    st.builds(GetBlock, heights),
    st.builds(BlockReply, heights, blobs, blobs),
    st.builds(NoBlock, heights),
    st.builds(PeerAnnounce, st.binary(max_size=600)),
    st.builds(
        Receipts,
        st.lists(
            st.builds(
                ReceiptItem, st.binary(min_size=32, max_size=32), heights, blobs, heights, heights
            )
        ).map(tuple),
    ),
    st.builds(
        Share,
        st.binary(min_size=32, max_size=32),
        heights,
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=96, max_size=96),
    ),
    st.builds(Evidence, st.binary(min_size=32, max_size=32), heights, blobs),
    st.builds(
        Want, st.sampled_from(Wanted), st.binary(min_size=32, max_size=32), heights, heights
    ).filter(lambda want: want.first_seq <= want.last_seq),
    st.builds(
        AppState,
        st.binary(min_size=32, max_size=32),
        heights,
        blobs,
        heights,
        heights,
        heights,
        st.dictionaries(blobs, blobs, max_size=5).map(lambda pairs: tuple(pairs.items())),
        blobs,
    ),
    st.builds(GetSnapshot, heights, heights),
    st.builds(SnapshotPart, heights, heights, blobs),
    st.builds(GetTxs, heights, heights, st.lists(heights, max_size=5).map(tuple)),
    st.builds(TxsFor, heights, heights, st.lists(blobs, max_size=5).map(tuple)),
    st.builds(GetTxsByHash, st.lists(st.binary(min_size=32, max_size=32), max_size=5).map(tuple)),
    st.builds(TxsByHash, st.lists(blobs, max_size=5).map(tuple)),
)


@given(frames)
def test_every_frame_round_trips(frame) -> None:
    data = encode_frame(frame)
    assert frame_length(data[:4]) == len(data) - 4
    assert decode_frame(data[4:]) == frame


@given(st.binary(max_size=200))
def test_hostile_bodies_raise_only_decode_errors(body: bytes) -> None:
    try:
        decode_frame(body)
    except DecodeError:
        pass


def test_lengths_over_the_limit_and_empty_frames_are_refused_before_reading() -> None:
    with pytest.raises(DecodeError) as error:
        frame_length((constants.frame_bytes_max + 1).to_bytes(4, "big"))
    assert error.value.rule == "frame_too_large"
    with pytest.raises(DecodeError) as error:
        frame_length(bytes(4))
    assert error.value.rule == "empty_frame"


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (bytes.fromhex("8118ff"), "unknown_kind"),  # [255]: none
        (bytes.fromhex("820140"), "wrong_type"),  # [1, h''] : status height must be a uint
        (bytes.fromhex("8301 01 02".replace(" ", "")), "wrong_length"),
        (bytes.fromhex("a0"), "wrong_type"),  # a map, not an array
    ],
)
def test_each_shape_error_names_its_rule(body: bytes, rule: str) -> None:
    with pytest.raises(DecodeError) as error:
        decode_frame(body)
    assert error.value.rule == rule


def test_receipt_frames_are_bounded_and_name_their_apps() -> None:
    item = [bytes(32), 0, b"receipt", 0, 0]
    too_many = encode([int(Kind.RECEIPTS), [item] * (constants.receipts_per_frame_max + 1)])
    short_app = encode([int(Kind.RECEIPTS), [[bytes(31), 0, b"receipt", 0, 0]]])
    no_sizes = encode([int(Kind.RECEIPTS), [[bytes(32), 0, b"receipt"]]])
    for body, rule in [
        (too_many, "wrong_type"),
        (short_app, "wrong_length"),
        (no_sizes, "wrong_type"),
    ]:
        with pytest.raises(DecodeError) as error:
            decode_frame(body)
        assert error.value.rule == rule


def test_share_frames_fix_their_lengths() -> None:
    good = [int(Kind.SHARE), bytes(32), 3, bytes(32), bytes(96)]
    assert decode_frame(encode(good)) == Share(bytes(32), 3, bytes(32), bytes(96))
    for index, short in [(1, bytes(31)), (3, bytes(31)), (4, bytes(95))]:
        body = list(good)
        body[index] = short
        with pytest.raises(DecodeError) as error:
            decode_frame(encode(body))
        assert error.value.rule == "wrong_length"


def test_want_and_app_state_frames_refuse_what_they_cannot_mean() -> None:
    app = bytes(32)
    for body, rule in [
        ([int(Kind.WANT), 3, app, 0, 1], "unknown_want"),
        ([int(Kind.EVIDENCE), bytes(31), 0, b"e"], "wrong_length"),
        ([int(Kind.EVIDENCE), app, 0], "wrong_length"),
        ([int(Kind.WANT), 0, app, 2, 1], "wrong_range"),
        ([int(Kind.WANT), 0, bytes(31), 0, 1], "wrong_length"),
        ([int(Kind.APP_STATE), app, 0, b"r", 0, 1, 1, [[b"a"]], b""], "wrong_type"),
        ([int(Kind.APP_STATE), app, 0, b"r", 0, 1, 1, [[b"a", b""]], None], "wrong_type"),
        ([int(Kind.APP_STATE), app, 0, b"r", [[b"a", b""]]], "wrong_length"),
    ]:
        with pytest.raises(DecodeError) as error:
            decode_frame(encode(body))
        assert error.value.rule == rule


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ([int(Kind.GET_TXS), 1, 0, [-1]], "wrong_type"),  # an index is an unsigned integer
        ([int(Kind.GET_TXS), 1, 0, [0] * (types_constants.block_txs_max + 1)], "wrong_type"),
        ([int(Kind.GET_TXS), 1, 0], "wrong_length"),
        ([int(Kind.TXS_FOR), 1, 0, [1]], "wrong_type"),  # a transaction is a byte string
        ([int(Kind.TXS_FOR), 1, 0, b"tx"], "wrong_type"),
        ([int(Kind.GET_TXS_BY_HASH), [bytes(31)]], "wrong_length"),  # a hash is 32 bytes
        (
            [int(Kind.GET_TXS_BY_HASH), [bytes(32)] * (types_constants.block_txs_max + 1)],
            "wrong_type",
        ),
        ([int(Kind.TXS_BY_HASH), [1]], "wrong_type"),
        ([int(Kind.TXS_BY_HASH), [b"tx"], 0], "wrong_length"),
    ],
)
def test_transaction_requests_and_answers_of_a_bad_shape_name_their_rule(
    fields: list[object], rule: str
) -> None:
    with pytest.raises(DecodeError) as error:
        decode_frame(encode(fields))
    assert error.value.rule == rule
