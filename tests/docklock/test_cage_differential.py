"""The cage's calls through the C API (`docklock.wasm`) sign byte-identical receipts to calls
through wasmtime-py's public API (`reference_cage`), for random apps making random host calls
with arguments in and out of range, growing their memory, storing out of bounds, trapping,
overflowing the stack, running out of fuel and returning values of every kind, one call after
another on the same module: nothing a call did (a trap, a grown memory, a host limit) reaches
the next."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import event, given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.docklock import cage, constants
from metanode.docklock.executor import Executed, execute_encoded
from metanode.docklock.live import LiveState

from . import reference_cage

KEY = ed25519.PrivateKey.from_seed(bytes(range(32)))
DATA = b"abcdefghijklmnopqrstuvwxyz0123456789"
# Addresses and lengths around the data, the first page's end, a grown memory's end, the
# cage's limit and below zero.
ADDRESSES = st.sampled_from([0, 1, 3, 8, 16, 30, 65_528, 65_536, 131_070, 1 << 24, -1])
LENGTHS = st.sampled_from([0, 1, 2, 5, 8, 300, 70_000, -4])
IMPORTS = """
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "env" "state_delete" (func $state_delete (param i32 i32)))
  (import "env" "block_time" (func $block_time (result i64)))
  (import "env" "random_u64" (func $random_u64 (result i64)))
"""


def _call(function: str, *arguments: int) -> str:
    return f"(call ${function} {' '.join(f'(i32.const {value})' for value in arguments)})"


def _step() -> st.SearchStrategy[str]:
    a, n = ADDRESSES, LENGTHS
    return st.one_of(
        st.builds(lambda *args: _call("state_set", *args), a, n, a, n),
        st.builds(lambda *args: f"(drop {_call('state_get', *args)})", a, n, a, n),
        st.builds(lambda *args: _call("state_delete", *args), a, n),
        st.builds(lambda *args: _call("output_write", *args), a, n),
        st.builds(lambda *args: _call("log", *args), a, n),
        st.builds(lambda *args: _call("input_read", *args), a),
        st.just("(drop (call $input_len))"),
        st.builds(lambda at: f"(i64.store (i32.const {at}) (call $random_u64))", a),
        st.builds(lambda at: f"(i64.store (i32.const {at}) (call $block_time))", a),
        st.builds(
            lambda pages: f"(drop (memory.grow (i32.const {pages})))",
            st.sampled_from([0, 1, 3, 255, 300]),
        ),
        st.builds(
            lambda times: (
                f"(local.set 0 (i32.const {times})) (loop $l (local.set 0 (i32.sub "
                "(local.get 0) (i32.const 1))) (br_if $l (local.get 0)))"
            ),
            st.sampled_from([1, 50, 2_000]),
        ),
        st.just("(unreachable)"),
        # Grown to the cage's limit, then trapped: out of memory.
        st.just(
            f"(drop (memory.grow (i32.sub (i32.const {constants.memory_bytes_max // 65_536}) "
            "(memory.size)))) (unreachable)"
        ),
        st.just("(call $recurse)"),
        st.just("(drop (i32.div_u (i32.const 1) (i32.const 0)))"),
    )


# What `g` returns after the body: (its result types, the instructions that push them). Kinds
# wasmtime-py cannot read (v128, anyref, exnref) end the call `instantiation_failed`.
RESULTS = st.sampled_from(
    [
        ("i32", "(i32.const 7)"),
        ("f64", "(f64.const 1.5)"),
        ("i64 f32", "(i64.const -2) (f32.const 0.5)"),
        ("externref", "(ref.null extern)"),
        ("externref", "(extern.convert_any (ref.i31 (i32.const 1)))"),
        ("funcref", "(ref.func $recurse)"),
        ("v128", "(v128.const i64x2 1 2)"),
        ("i32 v128", "(i32.const 1) (v128.const i64x2 1 2)"),
        ("anyref", "(ref.i31 (i32.const 1))"),
        ("exnref", "(ref.null exn)"),
    ]
)


@st.composite
def apps(draw: st.DrawFn) -> bytes:
    body = " ".join(draw(st.lists(_step(), max_size=8)))
    memory = draw(st.sampled_from(['(memory (export "memory") 1)'] * 3 + ["(memory 1)"]))
    results, returned = draw(RESULTS)
    data = DATA.decode()
    return cage.wat_to_wasm(
        f'(module {IMPORTS} {memory} (data (i32.const 0) "{data}")'
        " (func $recurse (call $recurse)) (elem declare func $recurse)"
        f' (func (export "f") (local i32) {body})'
        f' (func (export "g") (result {results}) (local i32) {body} {returned}))'
    )


CALLS = st.lists(
    st.tuples(
        st.sampled_from(["f", "f", "g", "nope"]),
        st.binary(max_size=12),
        st.sampled_from([40, 400, 20_000, constants.fuel_max]),
    ),
    min_size=1,
    max_size=4,
)
STATES = st.dictionaries(
    st.sampled_from([DATA[:1], DATA[:2], DATA[1:3], DATA[:5], DATA[3:11]]),
    st.binary(max_size=10),
    max_size=3,
)


def _executions(
    module: bytes, calls: list[tuple[str, bytes, int]], state: dict
) -> list[tuple[Executed, dict[bytes, bytes]]]:
    """Each call's execution and the app's state after it."""
    live = LiveState(dict(state))
    done = []
    for seq, (function, input_, fuel) in enumerate(calls):
        executed = execute_encoded(
            module, function, input_, live, KEY, block_time=seq, seed=bytes([seq]) * 32, fuel=fuel
        )
        live.apply(executed.transition)
        done.append((executed, dict(live.state)))
    return done


@settings(max_examples=150, deadline=None)
@given(module=apps(), calls=CALLS, state=STATES)
def test_receipts_are_those_of_wasmtime_pys_api(
    module: bytes, calls: list[tuple[str, bytes, int]], state: dict[bytes, bytes]
) -> None:
    direct = _executions(module, calls, state)
    with patch.object(cage, "run", reference_cage.run):
        expected = _executions(module, calls, state)
    for (got, got_after), (want, want_after) in zip(direct, expected, strict=True):
        event(got.receipt.outcome)
        assert got.receipt.outcome == want.receipt.outcome
        assert got.encoded == want.encoded
        assert got.records == want.records
        assert got.run.changes == want.run.changes
        assert got_after == want_after
        assert got.run.output == want.run.output
