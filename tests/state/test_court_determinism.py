"""The one-step ruling gives the same result in separate processes: hypothesis makes many
random disputes over the kv example app (states, calls, honest and lying receipts), and two
freshly spawned interpreters, each compiling the module and running the cage on its own,
must return rulings identical to each other and to this process's."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode, encode
from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock.appstate import ProvenState, prove_keys, state_root
from metanode.docklock.executor import execute
from metanode.state.court.records import ZERO, Dispute, Kind, Status
from metanode.state.court.ruling import Replayed, judge
from metanode.types import Address

KV = cage.wat_to_wasm((Path(__file__).resolve().parents[2] / "examples" / "kv.wat").read_text())
LIAR = ed25519.PrivateKey(b"\x01" * 32)
HONEST = ed25519.PrivateKey(b"\x02" * 32)
# (state before, function, input, the liar's input (None: input + b"!"), the liar defends,
#  block time, seed)
Case = tuple[dict[bytes, bytes], str, bytes, bytes | None, bool, int, bytes]


def rulings(cases: list[Case]) -> list[bytes]:
    """Each case's ruling, encoded: what the two processes compare."""
    return [encode(_rule(case)) for case in cases]


def _rule(case: Case) -> list[object]:
    state, function, input_, forged, liar_defends, block_time, seed = case
    honest, _after = execute(KV, function, input_, state, HONEST, block_time=block_time, seed=seed)
    lying, _after = execute(
        KV, function, forged if forged is not None else input_ + b"!", state, LIAR,
        block_time=block_time, seed=seed,
    )  # fmt: skip
    sides = [(honest, HONEST), (lying, LIAR)]
    if liar_defends:
        sides.reverse()
    roots = tuple(bundle.receipt.state_root_after for bundle, _key in sides)
    if roots[0] == roots[1]:
        return ["no dispute: both runs left the same state"]
    dispute = Dispute(
        app_id=cage.app_id(KV),
        kind=Kind.CHALLENGE,
        sides=(
            Address.from_public_key(sides[0][1].public_key),
            Address.from_public_key(sides[1][1].public_key),
        ),
        bond=1,
        opened_height=1,
        call_seq=7,
        first_seq=0,
        receipts=(sides[0][0].receipt.hash(), ZERO),
        results=(sides[0][0].receipt.result_hash(), ZERO),
        lo=7,
        hi=7,
        agreed_root=state_root(state),
        posts=(roots[0], roots[1]),
        pending=(),
        mover=0,
        deadline=2,
        turns=0,
        status=Status.RULING_DUE,
    )
    # The court's replay: from the reads of the keys the call touches, proven against the root.
    whole = ProvenState.whole(state)
    cage.run(KV, function, input_, whole, block_time=block_time, seed=seed)
    proven = ProvenState.check(state_root(state), prove_keys(state, whole.touched))
    run = cage.run(KV, function, input_, proven, block_time=block_time, seed=seed)
    evidence = [(lying.receipt, lying.witness)]
    judged = judge(dispute, Replayed(KV, input_, proven, seed, block_time, run), evidence)
    if judged is None:
        return ["evidence refused"]
    status, ruling = judged
    return [int(status), ruling.root, ruling.step, ruling.what]


keys = st.binary(min_size=1, max_size=6).filter(lambda key: b"=" not in key)
cases = st.tuples(
    st.dictionaries(keys, st.binary(max_size=12), max_size=6),
    st.sampled_from(["put", "get", "delete"]),
    st.one_of(keys, st.tuples(keys, st.binary(max_size=12)).map(lambda kv: kv[0] + b"=" + kv[1])),
    st.one_of(st.none(), st.binary(max_size=16)),
    st.booleans(),
    st.integers(min_value=0, max_value=2**40),
    st.binary(min_size=32, max_size=32),
)


@pytest.fixture(scope="module")
def processes() -> Iterator[tuple[ProcessPoolExecutor, ProcessPoolExecutor]]:
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(1, mp_context=spawn) as first,
        ProcessPoolExecutor(1, mp_context=spawn) as second,
    ):
        yield first, second


@settings(max_examples=10, deadline=None)
@given(st.lists(cases, min_size=10, max_size=10))
def test_two_processes_rule_alike_on_random_disputes(
    processes: tuple[ProcessPoolExecutor, ProcessPoolExecutor], batch: list[Case]
) -> None:
    first, second = processes
    here = rulings(batch)
    assert first.submit(rulings, batch).result() == here
    assert second.submit(rulings, batch).result() == here
    for case, encoded in zip(batch, here, strict=True):
        ruled = list(decode(encoded))
        if len(ruled) == 1:
            assert ruled == ["no dispute: both runs left the same state"]
            continue
        liar_defends = case[4]
        honest_won = Status.CHALLENGER_WON if liar_defends else Status.DEFENDER_WON
        assert ruled[0] == honest_won  # and the liar's forged input is named at step 0
        assert ruled[2:] == [0, "input"]
