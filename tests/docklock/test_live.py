"""An app's state kept by its executor (`LiveState`), changed by what each call wrote
(`Overlay`), against the whole state built anew after every call: the same roots, sizes,
entries and receipts' bytes, and no more tree nodes than a fresh build holds, on the compiled
core and on the Python reference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock.appstate import EMPTY_ROOT, ProvenState, state_nodes, state_root
from metanode.docklock.executor import execute_encoded
from metanode.docklock.live import LiveState
from metanode.docklock.overlay import Overlay
from tests.executor.helpers import changed, state_bytes

KEY = ed25519.PrivateKey.from_seed(bytes(range(32)))
KV = cage.wat_to_wasm((Path(__file__).resolve().parents[2] / "examples/kv.wat").read_text())
# Few keys, so that writes overwrite, delete present and absent keys and empty the state.
KEYS = st.sampled_from([b"a", b"b", b"c", b"dd", b"e" * 40, bytes(range(7))])
VALUES = st.sampled_from([b"", b"1", b"2", b"x" * 50])
OP = st.one_of(
    st.tuples(st.just("put"), KEYS, VALUES),
    st.tuples(st.just("delete"), KEYS, st.just(b"")),
    st.tuples(st.just("clear"), st.just(b""), st.just(b"")),
)
STATES = st.dictionaries(KEYS, VALUES, max_size=6)
CALLS = st.lists(st.lists(OP, max_size=6), min_size=1, max_size=12)


def _written(overlay: Overlay, ops: list[tuple[str, bytes, bytes]], whole: dict) -> None:
    """The ops made on the overlay and on the whole state alike."""
    for op, key, value in ops:
        if op == "put":
            overlay[key] = value
            whole[key] = value
        elif op == "delete":
            assert overlay.pop(key) == whole.pop(key, None)
        else:
            for present in list(whole):
                overlay.pop(present)
                del whole[present]
        assert len(overlay) == len(whole)


def _same(live: LiveState, whole: dict[bytes, bytes]) -> None:
    nodes, root = state_nodes(whole)
    assert live.state == whole
    assert live.root == root == state_root(whole)
    assert live.size == state_bytes(whole)
    # Stale nodes are pruned: as many as a fresh build's (under other versions).
    assert len(live.nodes) == len(nodes)


@pytest.mark.usefixtures("core_choice")
@settings(max_examples=200, deadline=None)
@given(start=STATES, calls=CALLS)
def test_a_state_changed_call_by_call_is_the_state_built_anew(
    start: dict[bytes, bytes], calls: list[list[tuple[str, bytes, bytes]]]
) -> None:
    live = LiveState(dict(start))
    whole = dict(start)
    _same(live, whole)
    for ops in calls:
        before = dict(whole)
        overlay = Overlay(live.state)
        _written(overlay, ops, whole)
        assert live.state == before  # the base is never written by the call
        assert overlay.changes() == changed(before, whole)
        made = live.transition(overlay.changes())
        assert live.state == before and made.root == state_root(whole)
        live.apply(made)
        event("emptied" if not whole and before else "changed" if made.changes else "no change")
        _same(live, whole)
    if not whole:
        assert live.root == EMPTY_ROOT


KV_CALL = st.one_of(
    st.tuples(st.just("put"), KEYS, VALUES).map(lambda c: (c[0], c[1] + b"=" + c[2])),
    st.tuples(st.just("delete"), KEYS).map(lambda c: (c[0], c[1])),
    st.tuples(st.just("get"), KEYS).map(lambda c: (c[0], c[1])),
)


@pytest.mark.usefixtures("core_choice")
@settings(max_examples=100, deadline=None)
@given(start=STATES, calls=st.lists(st.tuples(KV_CALL, st.booleans()), min_size=1, max_size=10))
def test_receipts_on_a_kept_state_are_those_on_the_whole_state(
    start: dict[bytes, bytes], calls: list[tuple[tuple[str, bytes], bool]]
) -> None:
    """kv.wat's puts, deletes and gets (some out of fuel: nothing changes) signed on a
    `LiveState` are the bytes of the same receipts with the whole states' roots."""
    live = LiveState(dict(start))
    whole = dict(start)
    for seq, ((function, input_), starved) in enumerate(calls):
        fuel = 5 if starved else 1_000_000
        options = {"block_time": seq, "seed": bytes([seq]) * 32, "fuel": fuel}
        executed = execute_encoded(KV, function, input_, live, KEY, **options)  # type: ignore[arg-type]
        after = cage.run(KV, function, input_, dict(whole), **options).state_after  # type: ignore[arg-type]
        roots = {"state_root_before": state_root(whole), "state_root_after": state_root(after)}
        unsigned = dataclasses.replace(executed.receipt, **roots, signature=b"")
        expected = dataclasses.replace(unsigned, signature=KEY.sign(unsigned.signing_message()))
        assert executed.encoded == expected.encode()
        live.apply(executed.transition)
        whole = after  # type: ignore[assignment]
        event(executed.receipt.outcome)
        _same(live, whole)


def test_a_court_replay_on_a_proven_state_learns_the_keys_a_call_touched() -> None:
    """Over a `ProvenState`, the overlay reads each key from it, so the prover's record of the
    keys a run touched, and the root after, are as before the overlay."""
    state = {b"a": b"1", b"b": b"2"}
    proven = ProvenState.whole(state)
    run = cage.run(KV, "put", b"c=3", proven, block_time=0, seed=bytes(32))
    assert proven.touched == {b"c"}
    assert run.changes == {b"c": b"3"}
    assert state_root(run.state_after) == state_root({**state, b"c": b"3"})
    assert len(proven) == 2  # the state it ran on is not changed
