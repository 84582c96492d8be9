"""The determinism cage: wasmtime configured so that a call gives the same result everywhere.

Configuration: NaN canonicalisation (floats' NaN bits are the one nondeterminism left in wasm
arithmetic), no threads, no relaxed SIMD, fuel metering (every call gets `fuel_max` units; the
fuel used is in the receipt), a linear-memory limit, a native-stack limit, one instance, one
table, one memory, and no WASI: the app sees only `metanode.docklock.host`. Modules are
compiled once per process and cached by their BLAKE3 hash (the app id).

A run's outcome is `ok`, or the reason it stopped: `out_of_fuel`, `stack_overflow`,
`out_of_memory` (memory.grow refused and the app trapped), `forbidden_import`,
`invalid_module`, `missing_function`, a host limit (`output_too_large`, …), or `trap:<code>`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import wasmtime

from metanode.crypto.hashing import blake3_hash
from metanode.docklock import constants
from metanode.docklock.host import Host, HostLimit
from metanode.docklock.witness import Record

OK = "ok"


def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.cranelift_nan_canonicalization = True
    config.wasm_threads = False
    config.wasm_relaxed_simd = False
    config.max_wasm_stack = constants.stack_bytes_max
    return wasmtime.Engine(config)


ENGINE = _engine()
_modules: OrderedDict[bytes, wasmtime.Module | str] = OrderedDict()


def app_id(module_bytes: bytes) -> bytes:
    return blake3_hash(module_bytes)


def compile_module(module_bytes: bytes) -> wasmtime.Module | str:
    """The compiled module, or the outcome that says why there is none (cached either way)."""
    key = app_id(module_bytes)
    cached = _modules.get(key)
    if cached is not None:
        _modules.move_to_end(key)
        return cached
    if len(module_bytes) > constants.module_bytes_max:
        compiled: wasmtime.Module | str = "invalid_module"
    else:
        try:
            compiled = wasmtime.Module(ENGINE, module_bytes)
        except wasmtime.WasmtimeError:
            compiled = "invalid_module"
    _modules[key] = compiled
    while len(_modules) > constants.module_cache_max:
        _modules.popitem(last=False)
    return compiled


def wat_to_wasm(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


@dataclass(frozen=True, slots=True)
class Execution:
    outcome: str
    output: bytes
    state_after: dict[bytes, bytes]
    fuel_used: int
    peak_memory_bytes: int
    witness: list[Record]
    logs: list[bytes]


_TRAP_OUTCOMES = {
    wasmtime.TrapCode.OUT_OF_FUEL: "out_of_fuel",
    wasmtime.TrapCode.STACK_OVERFLOW: "stack_overflow",
}


def run(
    module_bytes: bytes,
    function: str,
    input_: bytes,
    state: dict[bytes, bytes],
    *,
    block_time: int,
    seed: bytes,
    fuel: int = constants.fuel_max,
) -> Execution:
    """Call `function` of the module; state changes apply only if the outcome is ok."""
    host = Host(input_, dict(state), block_time, seed)
    compiled = compile_module(module_bytes)
    if isinstance(compiled, str):
        return Execution(compiled, b"", dict(state), 0, 0, [], [])
    store = wasmtime.Store(ENGINE)
    store.set_limits(
        memory_size=constants.memory_bytes_max,
        instances=constants.instances_max,
        tables=constants.tables_max,
        memories=constants.memories_max,
    )
    store.set_fuel(fuel)
    linker = wasmtime.Linker(ENGINE)
    host.link(linker)
    outcome = OK
    instance: wasmtime.Instance | None = None
    try:
        instance = linker.instantiate(store, compiled)
        exported = instance.exports(store).get(function)
        if not isinstance(exported, wasmtime.Func) or exported.type(store).params:
            outcome = "missing_function"
        else:
            exported(store)
    except HostLimit as limit:
        outcome = limit.outcome
    except wasmtime.Trap as trap:
        outcome = _TRAP_OUTCOMES.get(trap.trap_code, f"trap:{_trap_name(trap)}")
        if outcome == "trap:unreachable" and _memory_exhausted(store, instance):
            outcome = "out_of_memory"
    except wasmtime.WasmtimeError as error:
        outcome = "forbidden_import" if "unknown import" in str(error) else _link_outcome(error)
    fuel_used = fuel - store.get_fuel()
    peak = _memory_bytes(store, instance)
    state_after = host.state if outcome == OK else dict(state)
    return Execution(
        outcome, bytes(host.output), state_after, fuel_used, peak, host.witness, host.logs
    )


def _trap_name(trap: wasmtime.Trap) -> str:
    code = trap.trap_code
    return code.name.lower() if code is not None else "unknown"


def _memory_bytes(store: wasmtime.Store, instance: wasmtime.Instance | None) -> int:
    if instance is None:
        return 0
    memory = instance.exports(store).get("memory")
    return memory.data_len(store) if isinstance(memory, wasmtime.Memory) else 0


def _memory_exhausted(store: wasmtime.Store, instance: wasmtime.Instance | None) -> bool:
    # An app whose memory.grow was refused at the limit and then trapped ran out of memory.
    page = 64 * 1024
    return _memory_bytes(store, instance) + page > constants.memory_bytes_max


def _link_outcome(error: wasmtime.WasmtimeError) -> str:
    message = str(error)
    if "import" in message:
        return "forbidden_import"
    return "instantiation_failed"
