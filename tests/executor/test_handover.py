"""Catching up and the app state hand-over, with real LMDB and the real cage: calls run only to
catch up sign nothing, a replica serves its state as it stood after an earlier call it signed
(undone from its head), and an executor that installs that state answers the later calls as
the replica that ran them all did."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from metanode.docklock.appstate import state_root
from metanode.docklock.executor import ZERO
from metanode.docklock.live import LiveState
from metanode.executor.calls import CommittedCall
from metanode.executor.service import Published

from .helpers import KV_ID, call, running


def kv_call(seq: int, drawn: bool = True) -> CommittedCall:
    """Puts over five keys, and every seventh call deletes one: overwrites, inserts and
    deletes for the undo records to reverse."""
    if seq % 7 == 6:
        return dataclasses.replace(call(seq, KV_ID, "delete", f"k{seq % 5}".encode()), drawn=drawn)
    return dataclasses.replace(call(seq, KV_ID, "put", f"k{seq % 5}={seq}".encode()), drawn=drawn)


def test_calls_run_only_to_catch_up_sign_and_publish_nothing(tmp_path: Path) -> None:
    everything: list[Published] = []
    with running(tmp_path / "all", publish=everything.append) as service:
        service.on_committed([kv_call(seq) for seq in range(20)])
        service.wait_idle()
    later: list[Published] = []
    with running(tmp_path / "late", publish=later.append) as service:
        service.on_committed([kv_call(seq, drawn=seq >= 12) for seq in range(20)])
        service.wait_idle()
        stored = service.store.receipts(KV_ID, 0, 100)
        head = service.store.head(KV_ID)
    assert [item.seq for item in later] == list(range(12, 20))
    assert [item.seq for item in stored] == list(range(12, 20))
    assert later[0].receipt.previous == ZERO  # its own first receipt of the app
    for mine, theirs in zip(later, everything[12:], strict=True):
        assert mine.receipt.result_hash() == theirs.receipt.result_hash()
        assert mine.state_bytes == theirs.state_bytes
    assert head is not None and head.receipt_hash == later[-1].receipt.hash()


def test_a_replica_serves_the_state_after_its_latest_signed_call_of_a_range(
    tmp_path: Path,
) -> None:
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        service.on_committed([kv_call(seq, drawn=seq < 10) for seq in range(20)])
        service.wait_idle()
        for last in (3, 9, 19):
            served = service.store.state_at(KV_ID, 0, last)
            assert served is not None
            expected = min(last, 9)
            assert served.receipt.seq == expected
            assert served.receipt.receipt == published[expected].receipt
            assert state_root(served.state) == published[expected].receipt.state_root_after
        # No call of 10..19 was signed by it: it has no receipt to authenticate them by.
        assert service.store.state_at(KV_ID, 10, 19) is None


def test_an_installed_state_answers_later_calls_as_the_replica_that_ran_them(
    tmp_path: Path,
) -> None:
    replica: list[Published] = []
    with running(tmp_path / "replica", index=1, publish=replica.append) as service:
        service.on_committed([kv_call(seq) for seq in range(30)])
        service.wait_idle()
        served = service.store.state_at(KV_ID, 0, 19)
    assert served is not None and served.receipt.seq == 19
    drawn_anew: list[Published] = []
    with running(tmp_path / "new", index=2, publish=drawn_anew.append) as service:
        service.on_committed([kv_call(seq) for seq in range(20, 30)])
        service.wait_idle()
        assert service.waiting(KV_ID) == list(range(20, 30))  # held behind the gap
        assert drawn_anew == []
        service.install(KV_ID, 19, LiveState(served.state))
        service.wait_idle()
        assert service.waiting(KV_ID) == []
        # Its history starts at the installed state: it cannot serve an earlier one.
        assert service.store.state_at(KV_ID, 0, 19) is None
    assert [item.seq for item in drawn_anew] == list(range(20, 30))
    assert drawn_anew[0].receipt.previous == ZERO
    assert drawn_anew[0].receipt.state_root_before == served.receipt.receipt.state_root_after
    for mine, theirs in zip(drawn_anew, replica[20:], strict=True):
        assert mine.receipt.result_hash() == theirs.receipt.result_hash()
    # A restart resumes after the installed state and the calls run on it.
    with running(tmp_path / "new", index=2) as service:
        head = service.store.head(KV_ID)
        assert head is not None and head.seq == 29
        assert head.receipt_hash == drawn_anew[-1].receipt.hash()


def test_an_installed_state_behind_the_head_is_ignored(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        service.on_committed([kv_call(seq) for seq in range(10)])
        service.wait_idle()
        before = service.store.snapshot(KV_ID)
        service.install(KV_ID, 5, LiveState({b"stale": b"state"}))
        service.wait_idle()
        assert service.store.snapshot(KV_ID) == before


def test_a_receipt_chains_to_the_previous_the_node_names(tmp_path: Path) -> None:
    published: list[Published] = []
    with running(tmp_path, publish=published.append) as service:
        service.on_committed([kv_call(seq) for seq in range(3)])
        service.wait_idle()
        # As if the LogBlocks held its receipt 0 but left out 1 and 2.
        notarised = published[0].receipt.hash()
        rebased = dataclasses.replace(kv_call(3), previous=notarised)
        service.on_committed([rebased, kv_call(4)])
        service.wait_idle()
    assert published[3].receipt.previous == notarised
    assert published[4].receipt.previous == published[3].receipt.hash()
