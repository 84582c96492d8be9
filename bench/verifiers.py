"""Ed25519 verification of a client batch beside a busy caller, as the mempool hands it over.

Why this exists: admission screens transactions in Python on the node's event loop while their
signatures are verified beside it. A verification thread needs the GIL back each time it hands
verdicts over, and beside a caller running Python it gets it only at the interpreter's switch
interval (5 ms); worker processes (the reference's path) do not share the GIL. This times a
batch of 500 signatures (a client batch) through `BatchVerifier`, from the first `add` to the
verdicts, with the caller idle and with the caller busy in a Python loop:
- `core`: the compiled core, in the mempool's chunks (`mempool.pool.verify_chunk_txs`), each
  split over the core's own threads;
- `core64`: the same in chunks of 64, the mempool's size before 2026-12-07 (more hand-overs);
- `processes`: the reference (`METANODE_CORE=python`), chunks of 64 to two worker processes.

Last line: core_idle_ms=… core_busy_ms=… core64_idle_ms=… core64_busy_ms=…
processes_idle_ms=… processes_busy_ms=… (the median of `RUNS` batches each).
"""

from __future__ import annotations

import os
import statistics
import time

from metanode import core
from metanode.crypto import ed25519
from metanode.crypto.verifiers import BatchVerifier
from metanode.mempool.pool import verify_chunk_txs

BATCH = 500
RUNS = 9

Triple = tuple[bytes, bytes, bytes]


def _items() -> list[Triple]:
    key = ed25519.PrivateKey.from_seed(b"bench-verifiers".ljust(32, b"\x00"))
    messages = [index.to_bytes(4, "big") * 40 for index in range(BATCH)]
    return [(key.public_key, message, key.sign(message)) for message in messages]


def _batch_ms(items: list[Triple], chunk: int, *, busy: bool) -> float:
    begun = time.perf_counter()
    verifier = BatchVerifier(chunk=chunk)
    for item in items:
        verifier.add(*item)
    verdicts = verifier.finish()
    while busy and not verdicts.done():
        total = 0
        for number in range(1_000):  # the caller's own Python work
            total += number
    assert all(verdicts.result()), "every bench signature is valid"
    return (time.perf_counter() - begun) * 1e3


def _median_ms(items: list[Triple], chunk: int, *, busy: bool) -> float:
    _batch_ms(items, chunk, busy=False)  # threads or worker processes started, not timed
    return statistics.median(_batch_ms(items, chunk, busy=busy) for _ in range(RUNS))


def main() -> None:
    items = _items()
    figures: dict[str, float] = {}
    for name, chunk, choice in (
        ("core", verify_chunk_txs, "rust"),
        ("core64", 64, "rust"),
        ("processes", 64, "python"),
    ):
        os.environ[core.ENVIRONMENT] = choice
        for mode in ("idle", "busy"):
            figures[f"{name}_{mode}_ms"] = _median_ms(items, chunk, busy=mode == "busy")
    print(" ".join(f"{name}={value:.1f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
