"""DockLock with real wasmtime: receipts replay, every kind of tampering is caught and named at
its step, the escape attempts end in signed receipts, and a fresh process agrees."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.docklock import cage, constants, wasm
from metanode.docklock.appstate import state_root
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Bundle
from metanode.docklock.replay import replay
from metanode.docklock.witness import Record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = ed25519.PrivateKey.from_seed(bytes(range(32)))
COUNTER = cage.wat_to_wasm((EXAMPLES / "counter.wat").read_text())
BPI = Path(sys.executable).parent / "bpi"

RANDOM_APP = cage.wat_to_wasm("""
(module
  (import "env" "random_u64" (func $random (result i64)))
  (import "env" "block_time" (func $time (result i64)))
  (import "env" "state_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "r")
  (func (export "draw")
    (i64.store (i32.const 8) (i64.add (call $random) (call $time)))
    (call $log (i32.const 0) (i32.const 1))
    (call $set (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8))))
""")


def counter_bundle(start: int = 5) -> Bundle:
    state = {b"count": start.to_bytes(8, "little")}
    bundle, _ = execute(COUNTER, "increment", b"", state, KEY, block_time=7, seed=bytes(32))
    return bundle


def resign(bundle: Bundle, **changes) -> Bundle:
    """A receipt changed and signed again by the same key: only replay can catch it."""
    unsigned = replace(bundle.receipt, signature=b"", **changes)
    signed = replace(unsigned, signature=KEY.sign(unsigned.signing_message()))
    return replace(bundle, receipt=signed)


def test_counter_replays_and_increments() -> None:
    bundle = counter_bundle()
    assert bundle.output == (6).to_bytes(8, "little")
    assert replay(Bundle.decode(bundle.encode())).lines() == ["match"]


def test_tampered_signature_is_named() -> None:
    bundle = counter_bundle()
    forged = replace(bundle, receipt=replace(bundle.receipt, signature=bytes(64)))
    verdict = replay(forged)
    assert (verdict.step, verdict.what) == (0, "signature")


def test_any_field_change_without_resigning_breaks_the_signature() -> None:
    bundle = counter_bundle()
    for field in ("previous", "state_root_after", "output_hash", "witness_root"):
        changed = replace(bundle, receipt=replace(bundle.receipt, **{field: b"\x01" * 32}))
        assert replay(changed).what == "signature", field


def test_resigned_output_is_caught_after_the_last_host_call() -> None:
    bundle = counter_bundle()
    lie = resign(bundle, output_hash=bytes(32))
    verdict = replay(lie)
    assert (verdict.step, verdict.what) == (3, "output")


def test_resigned_state_root_is_caught() -> None:
    verdict = replay(resign(counter_bundle(), state_root_after=bytes(32)))
    assert (verdict.step, verdict.what) == (3, "state root after")


def test_altered_witness_record_is_caught_at_its_step() -> None:
    bundle = counter_bundle()
    records = list(bundle.witness)
    records[1] = Record(1, "state_set", (b"count", (999).to_bytes(8, "little")), None)
    verdict = replay(replace(bundle, witness=records))
    assert (verdict.step, verdict.what) == (1, "witness record")


def test_a_lying_executor_is_caught_at_the_step_it_lied() -> None:
    # The executor claims a different initial count and signs a consistent story.
    bundle = counter_bundle(start=5)
    honest = counter_bundle(start=41)
    lie = replace(resign(bundle, witness_root=honest.receipt.witness_root), witness=honest.witness)
    verdict = replay(lie)
    assert (verdict.step, verdict.what) == (0, "host call")


def test_altered_initial_state_and_input_are_named() -> None:
    bundle = counter_bundle()
    assert replay(replace(bundle, state_before={b"count": bytes(8)})).what == "initial state"
    assert replay(replace(bundle, input=b"x")).what == "input"


@pytest.mark.parametrize(
    ("module", "function", "outcome"),
    [
        ("escape.wat", "loop", "out_of_fuel"),
        ("escape.wat", "allocate", "out_of_memory"),
        ("escape.wat", "recurse", "stack_overflow"),
        ("escape_clock.wat", "escape", "forbidden_import"),
        ("escape_entropy.wat", "escape", "forbidden_import"),
        ("escape_files.wat", "escape", "forbidden_import"),
    ],
)
def test_escape_attempts_end_in_signed_receipts(module: str, function: str, outcome: str) -> None:
    code = cage.wat_to_wasm((EXAMPLES / module).read_text())
    bundle, after = execute(code, function, b"", {}, KEY, block_time=0, seed=bytes(32))
    assert bundle.receipt.outcome == outcome
    bundle.receipt.verify_signature()
    assert after == {}
    assert replay(bundle).matches


def test_context_comes_from_the_caller_and_is_witnessed() -> None:
    first, _ = execute(RANDOM_APP, "draw", b"", {}, KEY, block_time=10, seed=bytes(32))
    again, _ = execute(RANDOM_APP, "draw", b"", {}, KEY, block_time=10, seed=bytes(32))
    other, _ = execute(RANDOM_APP, "draw", b"", {}, KEY, block_time=10, seed=b"\x01" * 32)
    assert first.receipt.state_root_after == again.receipt.state_root_after
    assert first.receipt.state_root_after != other.receipt.state_root_after
    assert [record.call for record in first.witness] == [
        "random_u64",
        "block_time",
        "log",
        "state_set",
    ]
    assert replay(first).matches


def test_missing_function_and_invalid_module() -> None:
    bundle, _ = execute(COUNTER, "nope", b"", {}, KEY, block_time=0, seed=bytes(32))
    assert bundle.receipt.outcome == "missing_function"
    bundle, _ = execute(b"\x00asm garbage", "f", b"", {}, KEY, block_time=0, seed=bytes(32))
    assert bundle.receipt.outcome == "invalid_module"


@pytest.mark.parametrize(
    "imports",
    [
        '(import "env" "log" (func (param anyref anyref)))',
        '(import "env" "input_len" (func (result i31ref)))',
        '(import "env" "log" (func (param exnref i32)))',
        '(import "env" "log" (global anyref))',
        '(import "elsewhere" "f" (func (param anyref)))',
    ],
)
def test_an_import_of_gc_reference_types_is_forbidden_not_fatal(imports: str) -> None:
    # Compared in Python, such an import's value types aborted the process (wasmtime's C API
    # has no kind for them): a deploy of the module stopped every node that checked it. In a
    # child process, so that a regression fails this test rather than the run.
    module = cage.wat_to_wasm(f'(module {imports} (func (export "f")))')
    checked = subprocess.run(
        [sys.executable, "-c", CHECK_IN_A_CHILD, module.hex()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr[-500:]
    assert checked.stdout.split() == ["forbidden_import", "forbidden_import"]


CHECK_IN_A_CHILD = """
import sys
from metanode.docklock import cage
module = bytes.fromhex(sys.argv[1])
print(cage.check_module(module).outcome)
print(cage.run(module, "f", b"", {}, block_time=0, seed=bytes(32)).outcome)
"""


def test_cli_exec_then_replay_in_fresh_processes(tmp_path: Path) -> None:
    env = {"BPI_KEY_PASSWORD": "test-password", "PATH": "/usr/bin:/bin"}
    receipt = tmp_path / "R"

    def bpi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BPI), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    for _ in range(2):
        done = bpi(
            "exec",
            str(EXAMPLES / "counter.wat"),
            "increment",
            "--state",
            str(tmp_path / "S"),
            "--receipt",
            str(receipt),
        )
        assert done.returncode == 0, done.stderr
    checked = bpi("replay", str(receipt))
    assert checked.stdout.splitlines()[0] == "match"
    bundle = Bundle.decode(receipt.read_bytes())
    assert bundle.output == (2).to_bytes(8, "little")
    # The state root a fresh process computes equals the one this process computes.
    assert (
        state_root(
            cage.run(
                COUNTER, "increment", b"", bundle.state_before, block_time=0, seed=bytes(32)
            ).state_after
        )
        == bundle.receipt.state_root_after
    )
    tampered = tmp_path / "T"
    data = bytearray(receipt.read_bytes())
    data[-3] ^= 1  # inside the bundled output bytes
    tampered.write_bytes(bytes(data))
    result = bpi("replay", str(tampered))
    assert result.stdout.splitlines()[0].startswith("diverged at step ")
    assert result.returncode == 1


def test_key_value_store_example() -> None:
    code = cage.wat_to_wasm((EXAMPLES / "kv.wat").read_text())
    state: dict[bytes, bytes] = {}
    for function, input_ in [("put", b"colour=blue"), ("put", b"size=9")]:
        bundle, state = execute(code, function, input_, state, KEY, block_time=0, seed=bytes(32))
        assert bundle.receipt.outcome == "ok" and replay(bundle).matches
    bundle, state = execute(code, "get", b"colour", state, KEY, block_time=0, seed=bytes(32))
    assert bundle.output == b"blue"
    bundle, state = execute(code, "delete", b"colour", state, KEY, block_time=0, seed=bytes(32))
    assert state == {b"size": b"9"} and replay(bundle).matches


def test_hash_chain_example_depends_on_every_link() -> None:
    code = cage.wat_to_wasm((EXAMPLES / "hashchain.wat").read_text())

    def chain(inputs: list[bytes]) -> bytes:
        state: dict[bytes, bytes] = {}
        for item in inputs:
            bundle, state = execute(code, "extend", item, state, KEY, block_time=0, seed=bytes(32))
            assert replay(bundle).matches
        return state[b"head"]

    assert chain([b"a", b"b"]) != chain([b"b", b"a"])
    assert chain([b"a", b"b"]) == chain([b"a", b"b"])


def test_module_check_is_the_rule_run_applies() -> None:
    """`check_module` (what the chain's deploy rule asks) and `run` refuse the same modules:
    a start function would run at instantiation, outside any call the chain ordered."""
    starts = cage.wat_to_wasm(
        '(module (memory (export "memory") 1) (func $boot (i32.store (i32.const 0) '
        '(i32.const 1))) (start $boot) (func (export "get")))'
    )
    wrong_type = cage.wat_to_wasm('(module (import "env" "log" (func (param i64))))')
    assert cage.check_module(starts).outcome == "start_function"
    assert cage.run(starts, "get", b"", {}, block_time=0, seed=bytes(32)).outcome == (
        "start_function"
    )
    assert cage.check_module(wrong_type).outcome == "forbidden_import"
    assert cage.check_module(b"junk").outcome == "invalid_module"
    checked = cage.check_module(RANDOM_APP)
    assert checked.outcome == "ok"
    assert cage.check_module(COUNTER).functions == ("increment",)


def test_runs_on_threads_at_once_each_serve_their_own_host() -> None:
    """The host functions are linked once for the process and find the call's host through a
    context variable: calls running on several threads at once must each see their own seed,
    block time and state, exactly as when they run one after another."""
    seeds = [bytes([index]) * 32 for index in range(4)]

    def draws(seed: bytes) -> list[bytes]:
        state: dict[bytes, bytes] = {}
        found = []
        for block_time in range(60):
            run = cage.run(RANDOM_APP, "draw", b"", state, block_time=block_time, seed=seed)
            found.append(run.state_after[b"r"])
            state = run.state_after
        return found

    alone = [draws(seed) for seed in seeds]
    with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
        together = list(pool.map(draws, seeds))
    assert together == alone
    assert len({tuple(found) for found in alone}) == len(seeds)


def test_an_instantiation_failure_is_an_outcome() -> None:
    """A module that passes the check but cannot be instantiated within the cage's limits
    (a memory over `memory_bytes_max`) ends with `instantiation_failed`, and a data segment
    out of bounds traps at instantiation: both are outcomes in a receipt, not errors."""
    too_big = cage.wat_to_wasm('(module (memory (export "memory") 300) (func (export "f")))')
    outside = cage.wat_to_wasm(
        '(module (memory (export "memory") 1) (data (i32.const 70000) "x") (func (export "f")))'
    )
    assert cage.check_module(too_big).outcome == "ok"
    assert cage.run(too_big, "f", b"", {}, block_time=0, seed=bytes(32)).outcome == (
        "instantiation_failed"
    )
    assert cage.run(outside, "f", b"", {}, block_time=0, seed=bytes(32)).outcome == (
        "trap:memory_out_of_bounds"
    )


def test_a_call_looks_its_memory_up_once_for_all_its_host_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The counter's increment on an empty state makes three host calls that reach its memory
    # four times; looking the export up at each was a third of the call's time in the cage.
    looked_up: list[str] = []
    memory = wasm.Store.memory

    def counted(store: wasm.Store, instance: object, name: str) -> wasm.Memory | None:
        looked_up.append(name)
        return memory(store, instance, name)

    monkeypatch.setattr(wasm.Store, "memory", counted)
    run = cage.run(COUNTER, "increment", b"", {}, block_time=0, seed=bytes(32))
    assert run.outcome == "ok" and len(run.witness) == 3
    assert run.peak_memory_bytes == 65_536  # the memory the host calls found, one page
    assert looked_up == ["memory"]


def _address_space_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmSize:"))
    return int(line.split()[1]) * 1024


def test_an_instance_reserves_only_the_memory_a_call_may_have() -> None:
    # wasmtime's default maps 4 GiB and a guard per linear memory at each call's
    # instantiation and unmaps it at the Store's drop: a sixth of a counter call's CPU.
    store = wasmtime.Store(cage.ENGINE)
    module = wasmtime.Module(cage.ENGINE, COUNTER)
    before = _address_space_bytes()
    instance = cage.LINKER.instantiate(store, module)
    reserved = _address_space_bytes() - before
    assert isinstance(instance.exports(store).get("memory"), wasmtime.Memory)
    assert reserved < 4 * constants.memory_bytes_max


@settings(max_examples=40, deadline=None)
@given(
    pages=st.integers(min_value=1, max_value=constants.memory_bytes_max // 65_536),
    offset=st.integers(min_value=-16, max_value=16),
)
def test_loads_trap_exactly_past_the_memory_end(pages: int, offset: int) -> None:
    """Without guard pages the code checks bounds itself: an 8-byte load at the memory's end
    plus `offset` (the memory grown to `pages`, up to the cage's limit) runs iff it fits, with
    the same fuel either way as far as it got."""
    end = pages * 65_536
    address = end - 8 + offset
    code = cage.wat_to_wasm(
        f'(module (memory (export "memory") 1) (func (export "f") (drop (memory.grow '
        f"(i32.const {pages - 1}))) (drop (i64.load (i32.const {address})))))"
    )
    run = cage.run(code, "f", b"", {}, block_time=0, seed=bytes(32))
    fits = address + 8 <= end
    assert run.outcome == ("ok" if fits else "trap:memory_out_of_bounds")
    assert run.peak_memory_bytes == end


def test_a_function_with_parameters_is_missing_as_the_module_check_says() -> None:
    # `run` reads the module check's list of callable functions, not the export's type.
    code = cage.wat_to_wasm(
        '(module (memory (export "memory") 1) (global (export "g") i32 (i32.const 0)) '
        '(func (export "takes") (param i32)) (func (export "none")))'
    )
    assert cage.check_module(code).functions == ("none",)
    for function, outcome in [("takes", "missing_function"), ("g", "missing_function")]:
        assert cage.run(code, function, b"", {}, block_time=0, seed=bytes(32)).outcome == outcome
    assert cage.run(code, "none", b"", {}, block_time=0, seed=bytes(32)).outcome == "ok"


def test_only_the_call_into_wasm_lets_the_gil_go() -> None:
    # Each C call that releases the GIL can leave the executor's thread waiting for it behind
    # the node's event loop; only the wasm itself, which may run as long as its fuel lasts,
    # does ("Apps, w23").
    functions = {
        name: function
        for name, function in vars(wasm).items()
        if isinstance(function, ctypes._CFuncPtr) and name != "_NO_FINALIZER"
    }
    releasing = {
        name
        for name, function in functions.items()
        if not type(function)._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    }
    assert len(functions) > 10
    assert releasing == {"_call"}
