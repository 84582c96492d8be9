"""The oracle of the cage's differential test: a call run through wasmtime-py's public API
(a `Store`, `Linker.define_func` callbacks with a `Caller`, `Memory.read` and `write`, the
instance's export list), as `cage.run` ran it before its per-call path was bound to the C API
directly ("Apps, w23" in docs/performance.md). It shares the cage's engine, rules and `Host`,
so a difference between the two is a difference in how the call reaches wasmtime."""

from __future__ import annotations

from typing import Any

import wasmtime

from metanode.docklock import cage, constants
from metanode.docklock.appstate import AppState
from metanode.docklock.host import IMPORTS, Host, HostLimit
from tests.executor.helpers import changed

_PAGE = 64 * 1024


class _CallerMemory:
    """The host's view of the app's memory through wasmtime-py's `Caller` (`cage`'s
    `wasm.Memory` interface)."""

    def __init__(self, memory: wasmtime.Memory) -> None:
        self._memory = memory
        self._caller: Any = None

    def enter(self, caller: Any) -> None:
        self._caller = caller

    def length(self) -> int:
        return self._memory.data_len(self._caller)

    def read(self, pointer: int, length: int) -> bytes:
        return bytes(self._memory.read(self._caller, pointer, pointer + length))

    def write(self, pointer: int, data: bytes) -> None:
        # `Memory.write` refuses an empty write at the memory's end, which the host's bounds
        # check allows (a `state_get` with no room for the value) and copies nothing.
        if data:
            self._memory.write(self._caller, data, pointer)


def _linker(host: Host) -> wasmtime.Linker:
    linker = wasmtime.Linker(cage.ENGINE)
    for name, (params, results, method) in IMPORTS.items():

        def serve(caller: Any, *arguments: int, method: str = method) -> Any:
            if host.memory is None:
                found = caller.get("memory")
                if isinstance(found, wasmtime.Memory):
                    host.memory = _CallerMemory(found)  # type: ignore[assignment]
            if host.memory is not None:
                host.memory.enter(caller)
            return getattr(host, method)(*arguments)

        linker.define_func(
            "env", name, wasmtime.FuncType(params, results), serve, access_caller=True
        )
    return linker


def run(
    module_bytes: bytes,
    function: str,
    input_: bytes,
    state: AppState,
    *,
    block_time: int,
    seed: bytes,
    fuel: int = constants.fuel_max,
) -> cage.Execution:
    check = cage.check_module(module_bytes)
    if check.outcome != cage.OK:
        return cage.Execution(check.outcome, b"", 0, 0, [], [], state, {})
    # A whole copy of the state, as before the cage's `Overlay`: the changes are found by
    # comparing it with the state before, not recorded as the host makes them.
    host = Host(input_, state.copy(), block_time, seed)  # type: ignore[arg-type]
    store = wasmtime.Store(cage.ENGINE)
    store.set_limits(
        memory_size=constants.memory_bytes_max,
        instances=constants.instances_max,
        tables=constants.tables_max,
        memories=constants.memories_max,
    )
    store.set_fuel(fuel)
    outcome = cage.OK
    instance: wasmtime.Instance | None = None
    try:
        module = wasmtime.Module(cage.ENGINE, module_bytes)
        instance = _linker(host).instantiate(store, module)
        exported = instance.exports(store).get(function)
        if function not in check.functions or not isinstance(exported, wasmtime.Func):
            outcome = "missing_function"
        else:
            exported(store)
    except HostLimit as limit:
        outcome = limit.outcome
    except wasmtime.Trap as trap:
        code = trap.trap_code
        name = "unknown" if code is None else code.name.lower()
        outcome = {
            wasmtime.TrapCode.OUT_OF_FUEL: "out_of_fuel",
            wasmtime.TrapCode.STACK_OVERFLOW: "stack_overflow",
        }.get(code, f"trap:{name}")  # type: ignore[arg-type]
    except wasmtime.WasmtimeError:
        outcome = "instantiation_failed"
    fuel_used = fuel - store.get_fuel()
    memory = None if instance is None else instance.exports(store).get("memory")
    peak = memory.data_len(store) if isinstance(memory, wasmtime.Memory) else 0
    if outcome == "trap:unreachable" and peak + _PAGE > constants.memory_bytes_max:
        outcome = "out_of_memory"
    changes = changed(state, host.state) if outcome == cage.OK else {}  # type: ignore[arg-type]
    return cage.Execution(
        outcome, bytes(host.output), fuel_used, peak, host.witness, host.logs, state, changes
    )
