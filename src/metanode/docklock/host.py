"""The host interface: the only way an app reaches the world, every call witnessed.

Imports an app may use, all from module `env` (i32 pointers into the app's exported `memory`):
    input_len() -> i32                      input_read(ptr)
    output_write(ptr, len)                  log(ptr, len)
    state_get(kptr, klen, vptr, vcap) -> i32    (value length, or -1 if absent; copies ≤ vcap)
    state_set(kptr, klen, vptr, vlen)       state_delete(kptr, klen)
    block_time() -> i64                     random_u64() -> i64
    sd_jwt_verify(rptr, rlen, out, cap) -> i32   (result length; copies ≤ cap)
There is no clock, no entropy, no file or network: `block_time` is the caller's block time and
`random_u64` a stream keyed by the caller's seed (BLAKE3 keyed hash of a counter). Any other
import fails to link, and the run ends with the outcome `forbidden_import`.

`sd_jwt_verify` checks an SD-JWT presentation (RFC 9901, crypto/sd_jwt.py) for the app. Its
request is JSON `{"presentation": …, "issuer_key": <Ed25519 key, hex>, "audience": …,
"nonce": …}` (audience and nonce optional, together), and its result canonical JSON:
`{"ok": true, "issuer": …, "key_id": …, "key_bound": …, "claims": {…}}` or
`{"ok": false, "rule": …}`. It is pure: the presentation, the key the app trusts and the
block time in, a verdict out — so replay reproduces it. The app chooses the issuer key (from
its state or its input); at most `sd_jwt_verifications_max` per call bound its cost.

Each call appends a witness record. During replay the same host runs against the recorded
input and initial state, and the replayer compares the records it produces with the receipt's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from metanode.crypto.hashing import blake3_keyed_hash
from metanode.docklock import constants
from metanode.docklock.overlay import Overlay
from metanode.docklock.wasm import Memory
from metanode.docklock.witness import Record, Value

_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
# The app's imports from module `env`: (parameters, results, the Host method that serves it).
# The cage links these (cage.LINKER) and its module check (cage.check_module) reads the same
# table, so what deploy accepts is exactly what links.
IMPORTS: dict[str, tuple[list[wasmtime.ValType], list[wasmtime.ValType], str]] = {
    "input_len": ([], [_I32], "input_len"),
    "input_read": ([_I32], [], "input_read"),
    "output_write": ([_I32, _I32], [], "output_write"),
    "log": ([_I32, _I32], [], "log"),
    "state_get": ([_I32, _I32, _I32, _I32], [_I32], "state_get"),
    "state_set": ([_I32, _I32, _I32, _I32], [], "state_set"),
    "state_delete": ([_I32, _I32], [], "state_delete"),
    "block_time": ([], [_I64], "get_block_time"),
    "random_u64": ([], [_I64], "random_u64"),
    "sd_jwt_verify": ([_I32, _I32, _I32, _I32], [_I32], "sd_jwt_verify"),
}


class HostLimit(Exception):
    """A host call broke a limit (too much output, a key too long…): the run ends with it."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(slots=True)
class Host:
    input: bytes
    state: Overlay
    block_time: int
    seed: bytes
    witness: list[Record] = field(default_factory=list)
    output: bytearray = field(default_factory=bytearray)
    logs: list[bytes] = field(default_factory=list)
    random_counter: int = 0
    verifications: int = 0
    # The app's exported memory (None: it exports none), looked up by the cage once the
    # instance is made: one instance runs per Host, and its exports do not change. Looked up
    # again at each host call, it was a third of a counter call's time in the cage
    # (docs/performance.md).
    memory: Memory | None = None
    # What a host function raised, for the cage to raise again once wasm has unwound.
    raised: list[BaseException] = field(default_factory=list)

    def record(self, call: str, arguments: tuple[Value, ...], result: Value) -> None:
        if len(self.witness) >= constants.witness_records_max:
            raise HostLimit("too_many_host_calls")
        self.witness.append(Record(len(self.witness), call, arguments, result))

    def input_len(self) -> int:
        self.record("input_len", (), len(self.input))
        return len(self.input)

    def input_read(self, pointer: int) -> None:
        self._write(pointer, self.input)
        self.record("input_read", (pointer,), self.input)

    def output_write(self, pointer: int, length: int) -> None:
        data = self._read(pointer, length, constants.output_bytes_max)
        if len(self.output) + len(data) > constants.output_bytes_max:
            raise HostLimit("output_too_large")
        self.output += data
        self.record("output_write", (data,), None)

    def log(self, pointer: int, length: int) -> None:
        data = self._read(pointer, length, constants.log_bytes_max)
        self.logs.append(data)
        self.record("log", (data,), None)

    def state_get(self, key_pointer: int, key_length: int, out: int, cap: int) -> int:
        key = self._read(key_pointer, key_length, constants.key_bytes_max)
        value = self.state.get(key)
        if value is not None:
            self._write(out, value[: max(cap, 0)])
        self.record("state_get", (key,), value)
        return -1 if value is None else len(value)

    def state_set(self, key_pointer: int, key_length: int, pointer: int, length: int) -> None:
        key = self._read(key_pointer, key_length, constants.key_bytes_max)
        value = self._read(pointer, length, constants.value_bytes_max)
        if key not in self.state and len(self.state) >= constants.state_entries_max:
            raise HostLimit("state_full")
        self.state[key] = value
        self.record("state_set", (key, value), None)

    def state_delete(self, key_pointer: int, key_length: int) -> None:
        key = self._read(key_pointer, key_length, constants.key_bytes_max)
        self.state.pop(key, None)
        self.record("state_delete", (key,), None)

    def get_block_time(self) -> int:
        self.record("block_time", (), self.block_time)
        return self.block_time

    def random_u64(self) -> int:
        word = blake3_keyed_hash(self.seed, self.random_counter.to_bytes(8, "big"), length=8)
        self.random_counter += 1
        value = int.from_bytes(word, "big", signed=True)
        self.record("random_u64", (), value)
        return value

    def sd_jwt_verify(self, pointer: int, length: int, out: int, cap: int) -> int:
        if self.verifications >= constants.sd_jwt_verifications_max:
            raise HostLimit("too_many_verifications")
        self.verifications += 1
        request = self._read(pointer, length, constants.sd_jwt_request_bytes_max)
        result = json.dumps(
            _sd_jwt_result(request, self.block_time // 1_000), sort_keys=True, separators=(",", ":")
        ).encode()
        self._write(out, result[: max(cap, 0)])
        self.record("sd_jwt_verify", (request,), result)
        return len(result)

    def _memory(self) -> Memory:
        if self.memory is None:
            raise HostLimit("no_memory_export")
        return self.memory

    def _read(self, pointer: int, length: int, limit: int) -> bytes:
        if length < 0 or length > limit or pointer < 0:
            raise HostLimit("host_argument_out_of_range")
        memory = self._memory()
        if pointer + length > memory.length():
            raise HostLimit("memory_out_of_bounds")
        return memory.read(pointer, length)

    def _write(self, pointer: int, data: bytes) -> None:
        memory = self._memory()
        if pointer < 0 or pointer + len(data) > memory.length():
            raise HostLimit("memory_out_of_bounds")
        memory.write(pointer, data)


def _sd_jwt_result(request: bytes, now_s: int) -> dict[str, Any]:
    from metanode.crypto import sd_jwt  # noqa: PLC0415 - JOSE loads only for an app that calls it

    try:
        fields = json.loads(request)
        presentation, key = fields["presentation"], bytes.fromhex(fields["issuer_key"])
        audience, nonce = fields.get("audience"), fields.get("nonce")
        if not isinstance(presentation, str) or len(key) != 32:
            raise TypeError("presentation must be text and issuer_key 32 bytes")
        verified = sd_jwt.verify(presentation, key, now_s, audience, nonce)
    except sd_jwt.DisclosureError as error:
        return {"ok": False, "rule": error.rule}
    except (UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return {"ok": False, "rule": "bad_request"}
    return {
        "ok": True,
        "issuer": verified.issuer,
        "key_id": verified.key_id,
        "key_bound": verified.key_bound,
        "claims": verified.claims,
    }
