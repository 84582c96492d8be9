"""DockLock call rates and the cost of the witness.

trivial_calls_per_s: an exported function with no host calls. hostcall_app_calls_per_s: the
counter app (state_get, state_set, output_write per call). witness_overhead_pct: the counter's
time per call with witness recording against the same calls with recording switched off (the
host functions still run; only the appending of records is skipped). replay_calls_per_s:
full replays of a counter receipt (signature, hashes, re-execution, comparison).

Last line: trivial_calls_per_s=… hostcall_app_calls_per_s=… witness_overhead_pct=…
replay_calls_per_s=…
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock.executor import execute
from metanode.docklock.host import Host
from metanode.docklock.replay import replay

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRIVIAL = cage.wat_to_wasm('(module (memory (export "memory") 1) (func (export "f")))')


def rate(function: Callable[[], object], seconds: float = 1.5) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        function()
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    counter = cage.wat_to_wasm((EXAMPLES / "counter.wat").read_text())
    state = {b"count": (1).to_bytes(8, "little")}

    def call(module: bytes, function: str) -> Callable[[], object]:
        return lambda: cage.run(module, function, b"", state, block_time=0, seed=bytes(32))

    trivial = rate(call(TRIVIAL, "f"))
    witnessed = rate(call(counter, "increment"))
    recording = Host.record
    Host.record = lambda self, call, arguments, result: None  # type: ignore[method-assign]
    try:
        unwitnessed = rate(call(counter, "increment"))
    finally:
        Host.record = recording  # type: ignore[method-assign]
    overhead = (unwitnessed / witnessed - 1) * 100
    key = ed25519.PrivateKey.from_seed(bytes(32))
    bundle, _ = execute(counter, "increment", b"", state, key, block_time=0, seed=bytes(32))
    replays = rate(lambda: replay(bundle))
    print(f"counter: {witnessed:.0f} calls/s witnessed, {unwitnessed:.0f} without the witness")
    print(
        f"trivial_calls_per_s={trivial:.0f} hostcall_app_calls_per_s={witnessed:.0f} "
        f"witness_overhead_pct={overhead:.1f} replay_calls_per_s={replays:.0f}"
    )


if __name__ == "__main__":
    main()
