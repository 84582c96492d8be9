"""The executor service alone on examples/counter.wat: committed calls in, receipts committed
to its LMDB environment (one synced write transaction per block of 100 calls) and signed.

Also measures where the cage should run, off the event loop: the same counter calls handed one
at a time from an asyncio loop to a worker thread and to a worker process (the process gets the
app state with each call, as it would have to without owning the store).

And the service on examples/kv.wat holding `SIZED_ENTRIES` entries, each call overwriting one:
a call's cost should not grow with its app's state ("Apps, w24" in docs/performance.md).

Last line: calls_per_s=… thread_calls_per_s=… process_calls_per_s=… kv_10000_calls_per_s=…
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.executor.calls import CommittedCall
from metanode.executor.service import ExecutorService

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COUNTER = cage.wat_to_wasm((EXAMPLES / "counter.wat").read_text())
KV = cage.wat_to_wasm((EXAMPLES / "kv.wat").read_text())
CALLS = 2_000
SIZED_CALLS = 500
SIZED_ENTRIES = 10_000
HANDOFFS = 1_000


def service_rate() -> float:
    app = cage.app_id(COUNTER)
    calls = [
        CommittedCall(app, 1, seq, "increment", b"", 1_000_000, 1 + seq // 100, 0, bytes(32))
        for seq in range(CALLS)
    ]
    return _rate(COUNTER, calls, {})


def sized_rate(entries: int) -> float:
    """kv.wat `put`s, each overwriting one of `entries` keys, from the first call's state."""
    app = cage.app_id(KV)
    calls = [
        CommittedCall(
            app, 1, seq, "put", b"key%06d=%d" % (seq % entries, seq), 1_000_000, seq, 0, bytes(32)
        )
        for seq in range(1, SIZED_CALLS + 1)
    ]
    return _rate(KV, calls, {b"key%06d" % index: b"value" for index in range(entries)})


def _rate(module: bytes, calls: list[CommittedCall], state: dict[bytes, bytes]) -> float:
    """Calls a second through the service, 100 a block, its app's state `state` (installed
    as the state after call 0) before the first."""
    with tempfile.TemporaryDirectory() as data_dir:
        key = ed25519.PrivateKey.from_seed(bytes(32))
        service = ExecutorService(Path(data_dir), key, lambda app_id, version: module)
        if state:
            service.store.install(calls[0].app_id, 0, state)
        service.start()
        try:
            started = time.perf_counter()
            for start in range(0, len(calls), 100):
                service.on_committed(calls[start : start + 100])
            service.wait_idle()
            return len(calls) / (time.perf_counter() - started)
        finally:
            service.stop()


def counter_call(state: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return cage.run(COUNTER, "increment", b"", state, block_time=0, seed=bytes(32)).state_after


async def handoff_rate(pool: Executor) -> float:
    loop = asyncio.get_running_loop()
    state: dict[bytes, bytes] = {}
    await loop.run_in_executor(pool, counter_call, state)  # start the worker, compile
    started = time.perf_counter()
    for _ in range(HANDOFFS):
        state = await loop.run_in_executor(pool, counter_call, state)
    return HANDOFFS / (time.perf_counter() - started)


def main() -> None:
    with ThreadPoolExecutor(1) as threads:
        thread = asyncio.run(handoff_rate(threads))
    with ProcessPoolExecutor(1) as processes:
        process = asyncio.run(handoff_rate(processes))
    calls = service_rate()
    sized = sized_rate(SIZED_ENTRIES)
    print(
        f"calls_per_s={calls:.0f} thread_calls_per_s={thread:.0f} process_calls_per_s={process:.0f}"
        f" kv_{SIZED_ENTRIES}_calls_per_s={sized:.0f}"
    )


if __name__ == "__main__":
    main()
