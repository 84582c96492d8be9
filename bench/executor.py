"""The executor service alone on examples/counter.wat: committed calls in, receipts committed
to its LMDB environment (one synced write transaction per block of 100 calls) and signed.

Also measures where the cage should run, off the event loop: the same counter calls handed one
at a time from an asyncio loop to a worker thread and to a worker process (the process gets the
app state with each call, as it would have to without owning the store).

Last line: calls_per_s=… thread_calls_per_s=… process_calls_per_s=…
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
CALLS = 2_000
HANDOFFS = 1_000


def service_rate() -> float:
    app = cage.app_id(COUNTER)
    calls = [
        CommittedCall(app, 1, seq, "increment", b"", 1_000_000, 1 + seq // 100, 0, bytes(32))
        for seq in range(CALLS)
    ]
    with tempfile.TemporaryDirectory() as data_dir:
        key = ed25519.PrivateKey.from_seed(bytes(32))
        service = ExecutorService(Path(data_dir), key, lambda app_id, version: COUNTER)
        service.start()
        try:
            started = time.perf_counter()
            for start in range(0, CALLS, 100):
                service.on_committed(calls[start : start + 100])
            service.wait_idle()
            return CALLS / (time.perf_counter() - started)
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
    print(
        f"calls_per_s={calls:.0f} thread_calls_per_s={thread:.0f} process_calls_per_s={process:.0f}"
    )


if __name__ == "__main__":
    main()
