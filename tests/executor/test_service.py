"""The executor service with real LMDB and the real cage: receipt chains, replay, agreement of
two executors, order under gaps and duplicates, restart after the last committed call."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from pathlib import Path

import pytest

from metanode.docklock import cage
from metanode.docklock.appstate import state_root
from metanode.docklock.executor import ZERO
from metanode.docklock.overlay import Changes
from metanode.docklock.receipt import Bundle
from metanode.docklock.replay import replay
from metanode.executor import constants
from metanode.executor.calls import call_seed
from metanode.executor.service import ExecutorService, ExecutorStopped, Published
from metanode.executor.store import ExecutorStore

from .helpers import COUNTER, COUNTER_ID, KV, KV_ID, call, key, lookup, running, state_bytes


def count_of(value: bytes) -> int:
    return int.from_bytes(value, "little")


def test_one_hundred_counter_calls_make_a_valid_receipt_chain(tmp_path: Path) -> None:
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        service.on_committed([call(seq) for seq in range(100)])
        service.wait_idle()
        stored = service.store.receipts(COUNTER_ID, 0, 1_000)
    assert [item.seq for item in stored] == list(range(100))
    assert [item.receipt for item in stored] == [item.receipt for item in published]
    # Stored and gossiped as assembled from the signing message (`encoded_of`): the same bytes.
    assert [item.encoded for item in published] == [item.receipt.encode() for item in published]
    # The receipt's bytes are cut from its stored record: the same bytes.
    assert [item.encoded for item in stored] == [item.receipt.encode() for item in stored]
    # The witness is stored from the records' encodings its root was made of: the same records.
    assert [item.witness for item in stored] == [tuple(item.witness) for item in published]
    previous, root = ZERO, state_root({})
    for item in stored:
        receipt = item.receipt
        receipt.verify_signature()
        assert receipt.executor == key(1).public_key
        assert receipt.previous == previous
        assert receipt.state_root_before == root
        assert receipt.outcome == "ok"
        assert count_of(item.output) == item.seq + 1
        c = call(item.seq)
        assert receipt.seed == call_seed(c.block_seed, c.app_id, c.version, c.seq)
        previous, root = receipt.hash(), receipt.state_root_after
    assert len({item.receipt.seed for item in stored}) == 100


def test_the_signed_receipts_of_a_range_are_the_stored_ones(tmp_path: Path) -> None:
    """`signed` (what the court watch compares at each commit) reads the receipts alone, by
    seq, and stops at the range's end and the app's last call."""
    with running(tmp_path) as service:
        service.on_committed([call(seq) for seq in range(30)])
        service.wait_idle()
        stored = service.store.receipts(COUNTER_ID, 5, 10)
        signed = service.store.signed(COUNTER_ID, 5, 10)
        assert signed == {item.seq: item.receipt for item in stored}
        assert list(signed) == list(range(5, 15))
        assert list(service.store.signed(COUNTER_ID, 25, 100)) == list(range(25, 30))
        assert service.store.signed(KV_ID, 0, 10) == {}


def test_replay_verifies_a_published_receipt(tmp_path: Path) -> None:
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        service.on_committed([call(seq) for seq in range(5)])
        service.wait_idle()
    for item in published:
        # The counter's state before call n holds n, but for the first call's.
        before = {b"count": item.seq.to_bytes(8, "little")} if item.seq else {}
        bundle = Bundle(item.receipt, COUNTER, b"", before, item.witness, item.output)
        assert replay(bundle).matches


def test_two_executors_agree_on_every_state_root(tmp_path: Path) -> None:
    calls = [call(seq) for seq in range(30)]
    calls += [call(seq, KV_ID, "put", f"k{seq % 7}={seq}".encode()) for seq in range(30)]
    roots = []
    for index in (1, 2):
        with running(tmp_path / str(index), index) as service:
            service.on_committed(calls)
            service.wait_idle()
            roots.append(
                {
                    app: [
                        item.receipt.state_root_after
                        for item in service.store.receipts(app, 0, 100)
                    ]
                    for app in (COUNTER_ID, KV_ID)
                }
            )
    assert roots[0] == roots[1]
    assert len(roots[0][KV_ID]) == 30


def test_a_gap_holds_its_app_back_and_duplicates_are_ignored(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        service.on_committed([call(0), call(2), call(3), call(0), call(0, KV_ID, "put", b"a=1")])
        service.wait_idle()
        assert service.store.head(COUNTER_ID).seq == 0  # type: ignore[union-attr]
        assert service.waiting(COUNTER_ID) == [2, 3]
        assert service.store.head(KV_ID).seq == 0  # type: ignore[union-attr]
        service.on_committed([call(1), call(2)])
        service.wait_idle()
        assert service.waiting(COUNTER_ID) == []
        stored = service.store.receipts(COUNTER_ID, 0, 100)
    assert [count_of(item.output) for item in stored] == [1, 2, 3, 4]


def test_shuffled_delivery_gives_the_in_order_receipts(tmp_path: Path) -> None:
    calls = [call(seq) for seq in range(40)]
    shuffled = calls + calls[:10]
    random.Random(7).shuffle(shuffled)
    results = []
    for name, feed in [("ordered", calls), ("shuffled", shuffled)]:
        with running(tmp_path / name) as service:
            for start in range(0, len(feed), 7):
                service.on_committed(feed[start : start + 7])
            service.wait_idle()
            results.append([item.receipt for item in service.store.receipts(COUNTER_ID, 0, 100)])
    assert results[0] == results[1]


def test_a_restart_resumes_after_the_last_committed_call(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        service.on_committed([call(seq) for seq in range(10)])
        service.wait_idle()
        before = service.store.receipts(COUNTER_ID, 0, 100)
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        # The blocks are fed again from the start, as a node replaying its chain would.
        service.on_committed([call(seq) for seq in range(15)])
        service.wait_idle()
        after = service.store.receipts(COUNTER_ID, 0, 100)
    assert after[:10] == before
    assert [item.seq for item in published] == list(range(10, 15))
    assert after[10].receipt.previous == before[9].receipt.hash()
    assert count_of(after[14].output) == 15


def test_a_failed_worker_stops_the_service_with_its_cause(tmp_path: Path) -> None:
    service = ExecutorService(tmp_path, key(1), lookup)
    with pytest.raises(ExecutorStopped):
        service.on_committed([call(0)])
    service.start()
    try:
        service.on_committed([call(0, bytes(32))])  # no module is known for this app
        with pytest.raises(ExecutorStopped) as stopped:
            service.wait_idle()
        assert isinstance(stopped.value.__cause__, KeyError)
        with pytest.raises(ExecutorStopped):
            service.on_committed([call(1)])
    finally:
        service.stop()


def test_a_batch_commits_in_one_transaction_before_its_receipts_are_published(
    tmp_path: Path,
) -> None:
    heads: list[int] = []
    services: list[ExecutorService] = []

    def publish(published: Published) -> None:
        head = services[0].store.head(COUNTER_ID)
        assert head is not None
        heads.append(head.seq)

    # A clock that stands still: the batches are cut by `calls_per_commit_max` alone.
    with running(tmp_path, publish=publish, clock=lambda: 0.0) as service:
        services.append(service)
        service.on_committed([call(seq) for seq in range(10)])
        service.on_committed([call(seq) for seq in range(10, 15)])
        service.wait_idle()
    # Every receipt of a batch is published once the whole batch is on disk.
    assert heads == [9] * 10 + [14] * 5


def test_a_write_transaction_closes_once_its_calls_have_run_commit_interval_ms(
    tmp_path: Path,
) -> None:
    """A receipt is published (and served by the gateway) about `commit_interval_ms` after
    its call ran, not once the rest of a large block has run: each call here takes 3/4 of the
    interval on a clock read at a transaction's start and after each call, so every second
    call closes one."""
    heads: list[int] = []
    services: list[ExecutorService] = []
    ticks = itertools.count()

    def publish(published: Published) -> None:
        head = services[0].store.head(COUNTER_ID)
        assert head is not None
        heads.append(head.seq)

    def clock() -> float:
        return next(ticks) * constants.commit_interval_ms * 3 / 4 / 1000

    with running(tmp_path, publish=publish, clock=clock) as service:
        services.append(service)
        service.on_committed([call(seq) for seq in range(7)])
        service.wait_idle()
        stored = service.store.receipts(COUNTER_ID, 0, 100)
    assert heads == [1, 1, 3, 3, 5, 5, 6]
    assert [item.seq for item in stored] == list(range(7))


def test_a_failed_call_in_a_batch_commits_none_of_it(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        service.on_committed([call(seq) for seq in range(5)])
        service.wait_idle()
    store = ExecutorStore.open(tmp_path / "executor")
    try:
        before = store.snapshot(COUNTER_ID)
        with pytest.raises(RuntimeError), store.writing() as writer:
            changes: Changes = {b"count": (6).to_bytes(8, "little")}
            writer.commit(COUNTER_ID, 5, before.state, changes, 13, None)
            raise RuntimeError("the next call failed")
        assert store.snapshot(COUNTER_ID) == before
    finally:
        store.close()


def test_a_watched_call_is_signed_and_kept_but_not_published(tmp_path: Path) -> None:
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        service.on_committed([replace(call(0), watched=True), call(1)])
        service.wait_idle()
        stored = service.store.receipts(COUNTER_ID, 0, 2)
    assert [item.seq for item in published] == [1]
    assert [item.seq for item in stored] == [0, 1]
    stored[0].receipt.verify_signature()
    assert stored[1].receipt.previous == stored[0].receipt.hash()


def test_each_receipt_names_the_root_of_the_state_it_ran_on(tmp_path: Path) -> None:
    # The service keeps each app's state tree and updates it at the keys a call changed:
    # across calls it only ran (not drawn), traps, deletes and a restart (the tree built again
    # from the store), every receipt's roots are those of the whole state built anew.
    calls = []
    for seq in range(40):
        put = call(seq, KV_ID, "put", f"k{seq % 6}={seq}".encode())
        if seq % 4 == 2:
            put = call(seq, KV_ID, "delete", f"k{seq % 5}".encode())
        if seq % 7 == 3:
            put = replace(put, fuel_limit=1)  # traps out of fuel: the state stays
        calls.append(replace(put, drawn=seq % 5 != 1))
    published: list[Published] = []
    for part in (calls[:20], calls[20:]):  # a restart between the two
        with running(tmp_path, publish=published.append) as service:
            service.on_committed(part)
            service.wait_idle()
    assert [item.seq for item in published] == [seq for seq in range(40) if seq % 5 != 1]
    assert {item.receipt.outcome for item in published} == {"ok", "out_of_fuel"}
    states: list[dict[bytes, bytes]] = [{}]
    for committed in calls:
        run = cage.run(
            KV,
            committed.function,
            committed.input,
            states[-1],
            block_time=committed.block_time,
            seed=committed.seed,
            fuel=committed.fuel_limit,
        )
        states.append(run.state_after)  # type: ignore[arg-type]
    assert any(len(after) < len(before) for before, after in itertools.pairwise(states))
    for item in published:
        assert item.receipt.state_root_before == state_root(states[item.seq])
        assert item.receipt.state_root_after == state_root(states[item.seq + 1])
        assert item.state_bytes == state_bytes(states[item.seq + 1])
