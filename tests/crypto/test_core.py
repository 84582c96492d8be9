"""The compiled core against the Python reference: selection by METANODE_CORE, and Ed25519
verdicts on random mixes of good and bad signatures, the vectors' edge cases among them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode import _core, core
from metanode.crypto import ed25519
from metanode.errors import ConfigError
from tests.conftest import examples, load_vectors

KEYS = [ed25519.PrivateKey.from_seed(bytes([seed]) * 32) for seed in range(4)]
# Every CCTV case (small-order, mixed-order, non-canonical A and R) and every Wycheproof one.
EDGE_CASES = [
    (bytes.fromhex(case["key"]), case["msg"].encode(), bytes.fromhex(case["sig"]))
    for case in load_vectors("cctv-ed25519/ed25519vectors.json")
] + [
    (
        bytes.fromhex(group["publicKey"]["pk"]),
        bytes.fromhex(test["msg"]),
        bytes.fromhex(test["sig"]),
    )
    for group in load_vectors("wycheproof/ed25519_test.json")["testGroups"]
    for test in group["tests"]
]
Triple = tuple[bytes, bytes, bytes]


@st.composite
def _good(draw: st.DrawFn) -> Triple:
    key = draw(st.sampled_from(KEYS))
    message = draw(st.binary(max_size=200))
    return key.public_key, message, key.sign(message)


@st.composite
def _changed(draw: st.DrawFn) -> Triple:
    key, message, signature = draw(_good())
    which = draw(st.sampled_from(["key", "message", "signature", "r_from_edge", "a_from_edge"]))
    edge_key, _, edge_signature = draw(st.sampled_from(EDGE_CASES))
    if which == "key":
        return draw(st.sampled_from(KEYS)).public_key, message, signature
    if which == "message":
        return key, message + draw(st.binary(min_size=1, max_size=4)), signature
    if which == "signature":
        position = draw(st.integers(0, 63))
        flipped = signature[position] ^ draw(st.integers(1, 255))
        return key, message, signature[:position] + bytes([flipped]) + signature[position + 1 :]
    if which == "r_from_edge":  # a small-order or non-canonical R with a real S
        return key, message, edge_signature[:32] + signature[32:]
    return edge_key, message, signature


_item = st.one_of(
    _good(),
    _changed(),
    st.sampled_from(EDGE_CASES),
    st.tuples(st.binary(max_size=33), st.binary(max_size=8), st.binary(max_size=65)),
)


@given(st.lists(_item, max_size=40), st.integers(1, 3))
@settings(max_examples=examples(150), deadline=None)
def test_a_batch_accepts_exactly_what_the_reference_accepts(
    items: list[Triple], threads: int
) -> None:
    assert _core.verify_many(items, threads) == ed25519.reference_verify_many(items)


def test_the_vectors_in_one_batch_agree_with_the_reference() -> None:
    verdicts = _core.verify_many(EDGE_CASES, 2)
    assert verdicts == ed25519.reference_verify_many(EDGE_CASES)
    assert any(verdicts) and not all(verdicts)


def test_a_malformed_item_is_false_and_keeps_its_place() -> None:
    message = b"m"
    good = (KEYS[0].public_key, message, KEYS[0].sign(message))
    items = [good, ("text", b"m", bytes(64)), (good[0], b"m", None), good]  # type: ignore[list-item]
    assert _core.verify_many(items, 1) == [True, False, False, True]
    assert ed25519.reference_verify_many(items) == [True, False, False, True]


def test_a_message_past_the_reference_buffer_is_false_in_a_batch_as_there() -> None:
    message = bytes((1 << 20) + 1)
    item = (KEYS[0].public_key, message, KEYS[0].sign(message))
    assert _core.verify_many([item], 1) == ed25519.reference_verify_many([item]) == [False]
    assert _core.verify(*item)


def test_the_choice_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METANODE_CORE", "python")
    assert core.native() is None
    monkeypatch.setenv("METANODE_CORE", "rust")
    assert core.native() is _core
    monkeypatch.delenv("METANODE_CORE")
    assert core.native() is _core
    monkeypatch.setenv("METANODE_CORE", "c")
    with pytest.raises(ConfigError, match="'rust' or 'python'"):
        core.native()
