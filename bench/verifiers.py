"""Ed25519 verification beside a busy caller: threads against worker processes.

Why this exists: admission decodes and checks transactions in Python while their signatures
are verified. Verification threads need the GIL back after every signature; beside a caller
that is running Python they get it only at the interpreter's switch interval. This prints,
per signature, what two threads and what two worker processes (`metanode.crypto.verifiers`)
take with the caller idle and with the caller busy in a Python loop.

Last line: threads_idle_us=… threads_busy_us=… workers_idle_us=… workers_busy_us=…
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from metanode.crypto import ed25519
from metanode.crypto.verifiers import BatchVerifier

SIGNATURES = 2_000
CHUNK = 64


def _items() -> list[tuple[bytes, bytes, bytes]]:
    key = ed25519.PrivateKey.from_seed(b"bench-verifiers".ljust(32, b"\x00"))
    messages = [index.to_bytes(4, "big") * 40 for index in range(SIGNATURES)]
    return [(key.public_key, message, key.sign(message)) for message in messages]


_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench-verify")


def _threads(items: list[tuple[bytes, bytes, bytes]]) -> list[Future[list[bool]]]:
    executor = _THREADS
    return [
        executor.submit(ed25519.verify_many, items[start : start + CHUNK])
        for start in range(0, len(items), CHUNK)
    ]


def _workers(items: list[tuple[bytes, bytes, bytes]]) -> list[Future[list[bool]]]:
    verifier = BatchVerifier(chunk=CHUNK)
    for item in items:
        verifier.add(*item)
    return [verifier.finish()]


def _per_signature_us(
    start: Callable[[list[tuple[bytes, bytes, bytes]]], list[Future[list[bool]]]],
    items: list[tuple[bytes, bytes, bytes]],
    *,
    busy: bool,
) -> float:
    begun = time.perf_counter()
    futures = start(items)
    while busy and not all(future.done() for future in futures):
        total = 0
        for number in range(1_000):  # the caller's own Python work
            total += number
    verdicts = [verdict for future in futures for verdict in future.result()]
    assert all(verdicts), "every bench signature is valid"
    return (time.perf_counter() - begun) / len(items) * 1e6


def main() -> None:
    items = _items()
    _per_signature_us(_workers, items[:CHUNK], busy=False)  # start the workers, not timed
    figures = {
        f"{name}_{mode}_us": _per_signature_us(start, items, busy=mode == "busy")
        for name, start in (("threads", _threads), ("workers", _workers))
        for mode in ("idle", "busy")
    }
    print(" ".join(f"{name}={value:.1f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
