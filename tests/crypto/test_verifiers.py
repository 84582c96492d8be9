"""Verification beside the caller (threads into the compiled core, or worker processes for the
reference): the same verdicts as the calling thread, in order, even when a worker process dies
in the middle of a batch."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from metanode.crypto import ed25519, verifiers
from metanode.crypto.verifiers import BatchVerifier

# Both implementations of the rule, the compiled core and the reference (metanode.core).
pytestmark = pytest.mark.usefixtures("core_choice")

KEY = ed25519.PrivateKey.from_seed(b"verifiers".ljust(32, b"\x00"))


def _items(count: int) -> list[tuple[bytes, bytes, bytes]]:
    items = []
    for index in range(count):
        message = index.to_bytes(4, "big") * (index % 5)
        signature = KEY.sign(message)
        if index % 7 == 0:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        items.append((KEY.public_key, message, signature))
    items += [(b"short", b"m", bytes(64)), (KEY.public_key, b"m", b"short"), ("text", b"", b"")]
    return items  # type: ignore[return-value]


def _verified(items: list[tuple[bytes, bytes, bytes]], chunk: int) -> list[bool]:
    verifier = BatchVerifier(chunk=chunk)
    for item in items:
        verifier.add(*item)
    assert len(verifier) == len(items)
    return verifier.finish().result(timeout=60)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_workers_agree_with_the_calling_thread(chunk: int) -> None:
    items = _items(300)
    assert _verified(items, chunk) == ed25519.verify_many(items)


def test_small_batches_and_empty_ones() -> None:
    assert BatchVerifier().finish().result() == []
    items = _items(3)
    assert _verified(items, 64) == ed25519.verify_many(items)


def test_a_dead_worker_costs_time_not_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METANODE_CORE", "python")  # worker processes serve the reference only
    items = _items(400)
    workers = verifiers._shared(verifiers.workers_default)
    verifier = BatchVerifier(chunk=50)
    for item in items[:200]:
        verifier.add(*item)
    workers._workers[0].process.kill()
    workers._workers[0].process.wait()
    for item in items[200:]:
        verifier.add(*item)
    assert verifier.finish().result(timeout=60) == ed25519.verify_many(items)
    # The next batch gets a fresh worker in the dead one's place.
    assert _verified(items, 50) == ed25519.verify_many(items)
    assert all(worker.process.poll() is None for worker in workers._workers)


def test_no_add_after_finish() -> None:
    verifier = BatchVerifier()
    verifier.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        verifier.add(KEY.public_key, b"m", bytes(64))


def test_batches_from_several_threads_keep_their_own_verdicts() -> None:
    batches = [_items(150 + 10 * index) for index in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda items: _verified(items, 16), batches))
    assert verdicts == [ed25519.verify_many(items) for items in batches]
