"""wasmtime's C API on a call's path through the cage, bound so that quick calls keep the GIL.

wasmtime-py's objects release and take the GIL around each of the ~38 C calls a counter call
makes (the Store, its limits and fuel, the instance, the export list, each host call's
`Caller` and values, each memory access): on a node, the executor's thread then waits for the
GIL behind the event loop after each of them ("Apps, w23" in docs/performance.md). Here the
library wasmtime-py loaded (the version uv.lock pins) is opened a second time as a `PyDLL`,
whose functions run holding the GIL, with the argument types wasmtime-py declares for them:
each returns in microseconds. Only the call into wasm (`Store.call`) releases it, since an app
may run for as long as its fuel lasts; its host calls take it back once each.

The host functions are linked unchecked (`define`): wasmtime hands them their arguments and
takes their results in one array of raw values, without a `Caller` or a `Val` per value.
Modules, the linker and `InstancePre` are still made through wasmtime-py, once per module.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from metanode.errors import InvariantViolation

# The same library (one dlopen handle), its functions called without releasing the GIL. A
# second copy of wasmtime would not know the first one's engines and stores.
_HOLDING_GIL = ctypes.PyDLL(str(ffi.filename))
if _HOLDING_GIL._handle != ffi.dll._handle:
    raise InvariantViolation("wasmtime's library was loaded twice, not opened again")


def _bound(name: str, library: ctypes.CDLL = _HOLDING_GIL, **override: Any) -> Any:
    """`name` from `library`, with the argument and result types wasmtime-py gave it."""
    function = getattr(library, name)
    declared = getattr(ffi.dll, name)
    function.argtypes = override.get("argtypes", declared.argtypes)
    function.restype = override.get("restype", declared.restype)
    return function


_store_new = _bound("wasmtime_store_new")
_store_context = _bound("wasmtime_store_context")
_store_limiter = _bound("wasmtime_store_limiter")
_store_delete = _bound("wasmtime_store_delete")
_set_fuel = _bound("wasmtime_context_set_fuel")
_get_fuel = _bound("wasmtime_context_get_fuel")
_instantiate = _bound("wasmtime_instance_pre_instantiate")
_export_get = _bound(
    "wasmtime_instance_export_get",
    argtypes=[
        ctypes.POINTER(ffi.wasmtime_context_t),
        ctypes.POINTER(ffi.wasmtime_instance_t),
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ffi.wasmtime_extern_t),
    ],
)
_caller_context = _bound("wasmtime_caller_context")
_memory_data = _bound("wasmtime_memory_data", restype=ctypes.c_void_p)
_memory_data_size = _bound("wasmtime_memory_data_size")
_trap_code = _bound("wasmtime_trap_code")
_trap_delete = _bound("wasm_trap_delete")
_trap_new = _bound(
    "wasmtime_trap_new", argtypes=[ctypes.c_char_p, ctypes.c_size_t], restype=ctypes.c_void_p
)
_error_delete = _bound("wasmtime_error_delete")
_define_unchecked = _bound(
    "wasmtime_linker_define_func_unchecked",
    argtypes=[
        ctypes.POINTER(ffi.wasmtime_linker_t),
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ffi.wasm_functype_t),
        ffi.wasmtime_func_unchecked_callback_t,
        ctypes.c_void_p,
        ctypes.CFUNCTYPE(None, ctypes.c_void_p),
    ],
)
# The call into wasm releases the GIL: it runs for as long as the app's fuel lasts. It is the
# checked call, which gives its results' kinds (`Store.call`).
_call = _bound("wasmtime_func_call", library=ffi.dll)

# Copies in and out of the app's memory, holding the GIL too: `ctypes.memmove` releases it
# (7 us a counter call's `state_get`), and `ctypes.string_at` is a Python function around one.
_copy_in = ctypes.PyDLL(None).memmove
_copy_in.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
_copy_in.restype = ctypes.c_void_p
_copy_out = ctypes.pythonapi.PyBytes_FromStringAndSize
_copy_out.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
_copy_out.restype = ctypes.py_object

_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_FUNC = ffi.WASMTIME_EXTERN_FUNC.value
_MEMORY = ffi.WASMTIME_EXTERN_MEMORY.value

# The kinds of value wasmtime-py turns into Python values (`Val._from_raw`): a call whose function
# returned another (a v128, an anyref, an i31ref, an exnref) raised there, after running.
PYTHON_KINDS = frozenset(
    kind.value
    for kind in (
        ffi.WASMTIME_I32,
        ffi.WASMTIME_I64,
        ffi.WASMTIME_F32,
        ffi.WASMTIME_F64,
        ffi.WASMTIME_FUNCREF,
        ffi.WASMTIME_EXTERNREF,
    )
)

Values = Any  # ctypes.POINTER(wasmtime_val_raw_t): a host call's arguments, then its results
Serve = Callable[[int, Any, Values], None]  # (the function's index, caller, values)


class Trapped(Exception):
    """The wasm trapped: `code` is wasmtime's trap code, None for a trap without one."""

    def __init__(self, code: wasmtime.TrapCode | None) -> None:
        super().__init__(code)
        self.code = code


class Failed(Exception):
    """wasmtime refused (an instantiation over the store's limits, …), without a trap."""


def _outcome(error: Any, trap: Any) -> None:
    """Raise what a C call's error and trap pointers say, freeing them."""
    if trap:
        code = ffi.wasmtime_trap_code_t()
        known = _trap_code(trap, ctypes.byref(code))
        _trap_delete(trap)
        if error:
            _error_delete(error)
        raise Trapped(wasmtime.TrapCode(code.value) if known else None)
    if error:
        _error_delete(error)
        raise Failed


class HostCalls:
    """The host's functions linked once into a linker, all served by one function (`serve`,
    with the index of the function called), which returns nothing or raises: what it raised
    comes out of the `Store.call` running (`raised`, kept per thread by the caller)."""

    def __init__(self, linker: wasmtime.Linker, serve: Serve, raised: Callable[[], Any]) -> None:
        self._serve = serve
        self._raised = raised
        # ctypes keeps the trampoline alive only as long as this object is.
        self._trampoline = ffi.wasmtime_func_unchecked_callback_t(self._trampoline_body)
        self._types: list[wasmtime.FuncType] = []
        self._linker = linker

    def define(self, module: str, name: str, function_type: wasmtime.FuncType) -> None:
        self._types.append(function_type)
        error = _define_unchecked(
            self._linker.ptr(),
            module.encode(),
            len(module.encode()),
            name.encode(),
            len(name.encode()),
            function_type.ptr(),
            self._trampoline,
            len(self._types) - 1,
            _NO_FINALIZER,
        )
        _outcome(error, None)

    def _trampoline_body(self, index: int | None, caller: Any, values: Values, _count: int) -> int:
        try:
            self._serve(index or 0, caller, values)
        except BaseException as error:
            self._raised().append(error)
            message = b"host call failed"
            return int(_trap_new(message, len(message)))
        return 0


class Memory:
    """An instance's exported linear memory, as one host call sees it (`enter`): its address
    and length asked once each, on first use (the app cannot grow it during a host call)."""

    __slots__ = ("_base", "_context", "_handle", "_length")

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._context: Any = None
        self._base = 0
        self._length = -1

    def enter(self, caller: Any) -> None:
        self._context = _caller_context(caller)
        self._base, self._length = 0, -1

    def length(self) -> int:
        if self._length < 0:
            self._length = _memory_data_size(self._context, self._handle)
        return self._length

    def read(self, pointer: int, length: int) -> bytes:
        """`length` bytes at `pointer`, which the caller checked are within `length()`."""
        return _copy_out(self._address(pointer), length)  # type: ignore[no-any-return]

    def write(self, pointer: int, data: bytes) -> None:
        _copy_in(self._address(pointer), data, len(data))

    def _address(self, pointer: int) -> int:
        if not self._base:
            self._base = _memory_data(self._context, self._handle)
        return self._base + pointer


class Store:
    """A wasmtime store for one call, with its limits and fuel; `close` frees it."""

    def __init__(
        self, engine: wasmtime.Engine, fuel: int, *, memory_bytes: int, limits: tuple[int, int, int]
    ) -> None:
        instances, tables, memories = limits
        self._store = _store_new(engine.ptr(), None, _NO_FINALIZER)
        self._context = _store_context(self._store)
        _store_limiter(self._store, memory_bytes, -1, instances, tables, memories)
        _outcome(_set_fuel(self._context, fuel), None)

    def close(self) -> None:
        _store_delete(self._store)

    def instantiate(self, linked: wasmtime.InstancePre) -> Any:
        instance = ffi.wasmtime_instance_t()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        error = _instantiate(
            linked.ptr(), self._context, ctypes.byref(instance), ctypes.byref(trap)
        )
        _outcome(error, trap)
        return instance

    def function(self, instance: Any, name: str) -> Any:
        """The exported function `name`'s handle, or None."""
        return self._export(instance, name, _FUNC)

    def memory(self, instance: Any, name: str) -> Memory | None:
        handle = self._export(instance, name, _MEMORY)
        return None if handle is None else Memory(handle)

    def _export(self, instance: Any, name: str, kind: int) -> Any:
        item = ffi.wasmtime_extern_t()
        encoded = name.encode()
        found = _export_get(
            self._context, ctypes.byref(instance), encoded, len(encoded), ctypes.byref(item)
        )
        if not found or item.kind != kind:
            return None
        return ctypes.byref(item.of.func if kind == _FUNC else item.of.memory)

    def call(self, function: Any, results: int, raised: list[BaseException]) -> list[int]:
        """Call a function without parameters that returns `results` values; their kinds
        (`wasmtime_valkind_t`; the values are not kept, and the store's drop frees any it
        roots). What a host call raised is raised again here, before any trap it caused."""
        values = (ffi.wasmtime_val_t * max(results, 1))()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        error = _call(self._context, function, None, 0, values, results, ctypes.byref(trap))
        if raised:
            if trap:
                _trap_delete(trap)
            if error:
                _error_delete(error)
            raise raised.pop()
        _outcome(error, trap)
        return [values[at].kind for at in range(results)]

    def fuel(self) -> int:
        left = ctypes.c_uint64(0)
        _outcome(_get_fuel(self._context, ctypes.byref(left)), None)
        return left.value

    def memory_bytes(self, memory: Memory | None) -> int:
        if memory is None:
            return 0
        return int(_memory_data_size(self._context, memory._handle))
