"""The node's garbage-collector settings (metanode.node.collector)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from metanode.node import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_start_up_built_and_collects_the_young_less_often() -> None:
    gc.unfreeze()
    tracked_before = len(gc.get_objects())
    collector.tune_for_node()
    assert gc.get_freeze_count() >= tracked_before // 2
    assert len(gc.get_objects()) < tracked_before // 2
    assert gc.get_threshold() == (
        collector.young_threshold,
        collector.older_ratio,
        collector.older_ratio,
    )
    assert gc.isenabled()
