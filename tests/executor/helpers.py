"""Shared by the executor tests: the counter app, committed calls for it, a running service."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock.overlay import Changes
from metanode.executor.calls import CommittedCall
from metanode.executor.service import ExecutorService, Published

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTER = cage.wat_to_wasm((EXAMPLES / "counter.wat").read_text())
KV = cage.wat_to_wasm((EXAMPLES / "kv.wat").read_text())
COUNTER_ID = cage.app_id(COUNTER)
KV_ID = cage.app_id(KV)
MODULES = {(COUNTER_ID, 1): COUNTER, (KV_ID, 1): KV}
BLOCK_SEED = bytes(range(32))


def lookup(app_id: bytes, version: int) -> bytes:
    return MODULES[(app_id, version)]


def call(
    seq: int, app_id: bytes = COUNTER_ID, function: str = "increment", input_: bytes = b""
) -> CommittedCall:
    # Ten calls a block, so calls of one app share block seeds and times but not call seeds.
    height = 1 + seq // 10
    return CommittedCall(
        app_id, 1, seq, function, input_, 1_000_000, height, 1_000 * height, BLOCK_SEED
    )


def key(index: int) -> ed25519.PrivateKey:
    return ed25519.PrivateKey.from_seed(bytes([index]) * 32)


@contextmanager
def running(
    data_dir: Path,
    index: int = 1,
    publish: Callable[[Published], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ExecutorService]:
    service = ExecutorService(data_dir, key(index), lookup, publish, clock=clock)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def changed(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> Changes:
    """What took `before` to `after`, by key (`ExecutorStore`'s `Writer.commit` takes it)."""
    return {
        key: after.get(key)
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


def state_bytes(state: dict[bytes, bytes]) -> int:
    return sum(len(key) + len(value) for key, value in state.items())
