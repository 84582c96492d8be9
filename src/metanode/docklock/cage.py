"""The determinism cage: wasmtime configured so that a call gives the same result everywhere.

Configuration: NaN canonicalisation (floats' NaN bits are the one nondeterminism left in wasm
arithmetic), no threads, no relaxed SIMD, fuel metering (every call gets `fuel_max` units; the fuel
used is in the receipt), a linear-memory limit (reserved at that size, bounds checked in the code),
a native-stack limit, one instance, one table, one memory, and no WASI: the app sees only
`metanode.docklock.host`. Modules are compiled, checked and pre-linked once per process and cached
by their BLAKE3 hash (the app id): linking the host's ten functions and checking the module on
every call were 60% of a call's time in the cage (docs/performance.md). The host functions are
linked once, into one linker for the process, and reach the call's `Host` through a context
variable set for the call. A call reaches wasmtime through `docklock.wasm` (its Store, instance,
export lookups, host calls and memory accesses bound to the C API so that they keep the GIL);
tests/docklock/test_cage_differential.py holds its receipts to wasmtime-py's public API's.

A run's outcome is `ok`, or the reason it stopped: `out_of_fuel`, `stack_overflow`,
`out_of_memory` (memory.grow refused and the app trapped), `forbidden_import`,
`invalid_module`, `start_function`, `missing_function`, a host limit (`output_too_large`, …),
or `trap:<code>`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import wasmtime

from metanode.crypto.hashing import blake3_hash
from metanode.docklock import constants, wasm
from metanode.docklock.appstate import AppState
from metanode.docklock.host import IMPORTS, Host, HostLimit
from metanode.docklock.overlay import Changes, Overlay, applied
from metanode.docklock.witness import Record

OK = "ok"


def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.cranelift_nan_canonicalization = True
    config.wasm_threads = False
    config.wasm_relaxed_simd = False
    config.max_wasm_stack = constants.stack_bytes_max
    # wasmtime's default reserves 4 GiB of address space and a 32 MiB guard for each linear
    # memory, so that it can leave bounds checks to the guard pages; mapped at each call's
    # instantiation and unmapped at its Store's drop, it was a sixth of a counter call's CPU
    # in the cage ("Apps, w19"). Reserving only the memory a call may have, with explicit
    # bounds checks in the code, traps at the same addresses: fuel counts wasm operators, not
    # the checks, so receipts do not change.
    config.memory_reservation = constants.memory_bytes_max
    config.memory_guard_size = 0
    config.memory_reservation_for_growth = 0
    return wasmtime.Engine(config)


ENGINE = _engine()
# The host of the call running on this thread (or task), whom the linker's functions serve.
_running: ContextVar[Host] = ContextVar("running")


@dataclass(frozen=True, slots=True)
class _Served:
    """A host function as the trampoline serves it: the `Host` method, which of its arguments
    are i64 (the others i32), and its result's kind (None: no result)."""

    method: str
    wide: tuple[bool, ...]
    result_wide: bool | None


def _served(
    params: list[wasmtime.ValType], results: list[wasmtime.ValType], method: str
) -> _Served:
    i64 = wasmtime.ValType.i64()
    return _Served(
        method, tuple(kind == i64 for kind in params), results[0] == i64 if results else None
    )


_SERVED = [_served(*entry) for entry in IMPORTS.values()]


def _serve(index: int, caller: Any, values: wasm.Values) -> None:
    host = _running.get()
    if host.memory is not None:
        host.memory.enter(caller)
    served = _SERVED[index]
    arguments = [values[at].i64 if wide else values[at].i32 for at, wide in enumerate(served.wide)]
    result = getattr(host, served.method)(*arguments)
    if served.result_wide is not None:
        if served.result_wide:
            values[0].i64 = result
        else:
            values[0].i32 = result


def _raised() -> list[BaseException]:
    return _running.get().raised


def _linker() -> tuple[wasmtime.Linker, wasm.HostCalls]:
    linker = wasmtime.Linker(ENGINE)
    calls = wasm.HostCalls(linker, _serve, _raised)
    for name, (params, results, _method) in IMPORTS.items():
        calls.define("env", name, wasmtime.FuncType(params, results))
    return linker, calls


# `_HOST_CALLS` holds the trampoline the linker's functions call: it must live as long.
LINKER, _HOST_CALLS = _linker()


@functools.lru_cache(maxsize=constants.module_cache_max)
def app_id(module_bytes: bytes) -> bytes:
    """The module's BLAKE3 hash, kept for the modules last asked as `_compile` keeps their
    compiled form: an executor's call hashed its module twice (the cache's key, the receipt's
    app id), 2% of a counter call's CPU and O(module size) (docs/performance.md, "Apps,
    w25"). The executor passes the same bytes object each call, whose hash Python keeps."""
    return blake3_hash(module_bytes)


_START_SECTION = 8


@dataclass(frozen=True, slots=True)
class ModuleCheck:
    """What the cage's rules say of a module before any run: `outcome` is `ok` or the reason it
    can never run (`invalid_module`, `forbidden_import`, `start_function`); `functions` are the
    exports a call may name (functions without parameters, as `run` requires), sorted."""

    outcome: str
    functions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A module checked by the cage's rules and, if it passed, compiled and linked."""

    check: ModuleCheck
    linked: wasmtime.InstancePre | None
    # How many results each function a call may name returns (`check.functions`' keys): the
    # call's array of results must hold them.
    results: dict[str, int]


_compiled: OrderedDict[bytes, _Compiled] = OrderedDict()


def check_module(module_bytes: bytes) -> ModuleCheck:
    """The cage's rules over a module, without running it: it compiles within the size limit,
    imports only the host's functions with their exact types, and has no start function (code
    that would run at instantiation, outside any call the chain ordered). The chain's deploy
    rule (state/apps) and `run` both use this one check."""
    return _compile(module_bytes).check


def _compile(module_bytes: bytes) -> _Compiled:
    """The module's check and linked form, cached either way."""
    key = app_id(module_bytes)
    cached = _compiled.get(key)
    if cached is not None:
        _compiled.move_to_end(key)
        return cached
    compiled = _Compiled(ModuleCheck("invalid_module", ()), None, {})
    if len(module_bytes) <= constants.module_bytes_max:
        try:
            module = wasmtime.Module(ENGINE, module_bytes)
        except wasmtime.WasmtimeError:
            pass
        else:
            compiled = _check(module, module_bytes)
    _compiled[key] = compiled
    while len(_compiled) > constants.module_cache_max:
        _compiled.popitem(last=False)
    return compiled


def _check(module: wasmtime.Module, module_bytes: bytes) -> _Compiled:
    # The linker holds the host's functions and nothing else, so a module links to it iff it
    # imports only those, with their exact types. The imports' types compared in Python asked
    # wasmtime for each value type's kind, which aborts the process for a GC reference type
    # (an import `log` taking anyrefs): a deploy of such a module stopped every node checking it.
    try:
        linked = LINKER.instantiate_pre(module)
    except wasmtime.WasmtimeError:
        return _Compiled(ModuleCheck("forbidden_import", ()), None, {})
    if _has_start_section(module_bytes):
        return _Compiled(ModuleCheck("start_function", ()), None, {})
    results = {
        item.name: len(item.type.results)
        for item in module.exports
        if isinstance(item.type, wasmtime.FuncType) and not item.type.params
    }
    return _Compiled(ModuleCheck(OK, tuple(sorted(results))), linked, results)


def _has_start_section(module_bytes: bytes) -> bool:
    # wasmtime-py does not expose the start function; the binary format is a header of 8 bytes,
    # then sections `id (1 byte) ‖ size (LEB128) ‖ content`. Only called on a module that
    # compiled, so every section is well formed.
    position = 8
    while position < len(module_bytes):
        section = module_bytes[position]
        size, shift = 0, 0
        position += 1
        while True:
            byte = module_bytes[position]
            position += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if section == _START_SECTION:
            return True
        position += size
    return False


def wat_to_wasm(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


@dataclass(frozen=True, slots=True)
class Execution:
    outcome: str
    output: bytes
    fuel_used: int
    peak_memory_bytes: int
    witness: list[Record]
    logs: list[bytes]
    state_before: AppState  # what the call ran on, not written by it
    changes: Changes  # what the call changed in it (nothing unless `ok`), by key

    @property
    def state_after(self) -> AppState:
        """A copy of the state before with the call's changes made: O(entries), for those who
        keep whole states (a replay, the court); an executor applies `changes`. It reads
        `state_before` as it is now: before its owner changes it (`LiveState.apply`)."""
        return applied(self.state_before, self.changes)


_TRAP_OUTCOMES = {
    wasmtime.TrapCode.OUT_OF_FUEL: "out_of_fuel",
    wasmtime.TrapCode.STACK_OVERFLOW: "stack_overflow",
}


def run(
    module_bytes: bytes,
    function: str,
    input_: bytes,
    state: AppState,
    *,
    block_time: int,
    seed: bytes,
    fuel: int = constants.fuel_max,
) -> Execution:
    """Call `function` of the module; state changes apply only if the outcome is ok. A
    `ProvenState` gives the result as one too; its `Unproven` goes through to the caller."""
    host = Host(input_, Overlay(state), block_time, seed)
    compiled = _compile(module_bytes)
    linked = compiled.linked
    if linked is None:
        return Execution(compiled.check.outcome, b"", 0, 0, [], [], state, {})
    store = wasm.Store(ENGINE, fuel, memory_bytes=constants.memory_bytes_max, limits=_LIMITS)
    running = _running.set(host)
    try:
        outcome = _call(store, linked, compiled.results.get(function), function, host)
        fuel_used = fuel - store.fuel()
        peak = store.memory_bytes(host.memory)
        if outcome == "trap:unreachable" and peak + _PAGE > constants.memory_bytes_max:
            # An app whose memory.grow was refused at the limit and then trapped ran out of it.
            outcome = "out_of_memory"
    finally:
        _running.reset(running)
        store.close()
    changes = host.state.changes() if outcome == OK else {}
    return Execution(
        outcome, bytes(host.output), fuel_used, peak, host.witness, host.logs, state, changes
    )


_LIMITS = (constants.instances_max, constants.tables_max, constants.memories_max)
_PAGE = 64 * 1024


def _call(
    store: wasm.Store, linked: wasmtime.InstancePre, results: int | None, function: str, host: Host
) -> str:
    """The outcome of instantiating the module and calling `function` (None `results`: not a
    function a call may name, as the module check listed them)."""
    try:
        instance = store.instantiate(linked)
        # Looked up once for all the call's host calls, and for its peak at the end.
        host.memory = store.memory(instance, "memory")
        exported = None if results is None else store.function(instance, function)
        if results is None or exported is None:
            return "missing_function"
        kinds = store.call(exported, results, host.raised)
        if not wasm.PYTHON_KINDS.issuperset(kinds):
            # Until "Apps, w23" a call went through wasmtime-py, which could not read such a
            # result: the call ended `instantiation_failed` after running, its state dropped.
            # Receipts keep that verdict.
            return "instantiation_failed"
    except HostLimit as limit:
        return limit.outcome
    except wasm.Trapped as trap:
        name = "unknown" if trap.code is None else trap.code.name.lower()
        return _TRAP_OUTCOMES.get(trap.code, f"trap:{name}")  # type: ignore[arg-type]
    except wasm.Failed:
        # Imports are checked before a module is linked, so this is instantiation itself
        # failing (a memory over the limit).
        return "instantiation_failed"
    return OK
