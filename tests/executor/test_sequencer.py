"""The per-app order on its own, and the limits that bound what waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from metanode.executor import constants
from metanode.executor.sequencer import Sequencer
from metanode.executor.service import ExecutorBusy

from .helpers import COUNTER_ID, KV_ID, call, running


def test_calls_behind_a_gap_are_bounded_per_app() -> None:
    sequencer = Sequencer(lambda app_id: 0)
    limit = constants.pending_calls_per_app_max
    assert sequencer.accept(call(seq) for seq in range(1, limit + 2)) == []
    assert sequencer.overflowed == 1
    assert sequencer.accept([call(0, KV_ID, "put", b"a=1")]) == [call(0, KV_ID, "put", b"a=1")]
    ready = sequencer.accept([call(0)])
    assert [item.seq for item in ready] == list(range(limit + 1))
    assert sequencer.waiting(COUNTER_ID) == []


def test_a_queue_past_its_limit_refuses_the_whole_batch(tmp_path: Path) -> None:
    with running(tmp_path) as service:
        with pytest.raises(ExecutorBusy, match="catch up"):
            service.on_committed([call(0)] * (constants.queued_calls_max + 1))
        service.on_committed([call(0)])
        service.wait_idle()
        assert service.store.head(COUNTER_ID).seq == 0  # type: ignore[union-attr]
