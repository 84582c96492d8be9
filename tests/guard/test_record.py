"""Recordings of what the guard observed: what the Watch writes, what `record.load` reads back,
and the lines it refuses (guard/record.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metanode.errors import ConfigError
from metanode.guard import record
from metanode.guard.score import Allowance, Kind
from metanode.guard.watch import Watch
from metanode.types import Address

PEER = Address(bytes(range(20)))


def _watched(path: Path, allow: list[str]) -> tuple[Watch, int]:
    """A watch recording to `path`, and the time its recording began."""
    watch = Watch(Allowance(5, 5), allow, lambda *_: None, lambda *_: None)
    return watch, watch.record(path, "node-a").origin_ms


def test_a_recording_holds_each_observation_with_its_verdict_and_no_payload(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trace.jsonl"
    watch, origin = _watched(path, ["127.0.0.1"])
    for step in range(20):  # past the allowance of 5 with a burst of 5: throttled
        watch.client("192.0.2.7", Kind.REQUEST, origin + step, 300)
    watch.client("192.0.2.7", Kind.BAD_SIGNATURE, origin + 25)
    watch.peer(PEER, Kind.REQUEST, origin + 30, 4_000)
    watch.peer(PEER, Kind.DELIVERY, origin + 30)
    watch.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {
        "format": record.FORMAT,
        "observer": "node-a",
        "client_allowance": [5, 5],
        "allowed": ["client:127.0.0.1"],
    }
    assert {key for line in lines[1:] for key in line} == {
        "t_ms",
        "subject",
        "kind",
        "size",
        "outcome",
    }
    (section,) = record.load(path)
    assert section.observer == "node-a"
    assert section.client_allowance == Allowance(5, 5)
    assert section.allowed == ("client:127.0.0.1",)
    assert section.observations[0] == (0, "client:192.0.2.7", Kind.REQUEST, 300)
    assert section.observations[-1] == (30, f"peer:{PEER}", Kind.DELIVERY, 0)
    assert section.outcomes["client:192.0.2.7"] == {"pass", "throttle"}
    assert section.outcomes[f"peer:{PEER}"] == {"pass"}
    assert section.duration_ms == 31


def test_recordings_concatenate_into_sections_one_per_observer(tmp_path: Path) -> None:
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for index, path in enumerate(paths):
        watch, origin = _watched(path, [])
        watch.client(f"192.0.2.{index}", Kind.REQUEST, origin + 10, 100)
        watch.close()
    joined = tmp_path / "joined.jsonl"
    joined.write_text("".join(path.read_text() for path in paths))
    sections = record.load(joined)
    assert [section.observations for section in sections] == [
        [(10, "client:192.0.2.0", Kind.REQUEST, 100)],
        [(10, "client:192.0.2.1", Kind.REQUEST, 100)],
    ]


def test_offsets_never_go_back_when_the_clock_does(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    watch, origin = _watched(path, [])
    watch.client("192.0.2.1", Kind.REQUEST, origin + 500)
    watch.client("192.0.2.1", Kind.REQUEST, origin + 200)  # the wall clock was set back
    watch.close()
    (section,) = record.load(path)
    assert [at for at, *_ in section.observations] == [500, 500]


HEADER = json.dumps(
    {"format": record.FORMAT, "observer": "n", "client_allowance": [50, 100], "allowed": []}
)
GOOD = {"t_ms": 5, "subject": "client:a", "kind": "request", "size": 1, "outcome": "pass"}


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ([json.dumps(GOOD)], "first line must be a header"),
        ([HEADER.replace("trace/1", "trace/9")], "format"),
        ([HEADER.replace("[50, 100]", "[0, 100]")], "client_allowance"),
        ([HEADER, json.dumps(GOOD | {"kind": "payload"})], "kind 'payload'"),
        ([HEADER, json.dumps(GOOD | {"subject": "192.0.2.1"})], "subject must start"),
        ([HEADER, json.dumps(GOOD | {"outcome": "maybe"})], "outcome 'maybe'"),
        ([HEADER, json.dumps(GOOD | {"size": -1})], "at least 0"),
        ([HEADER, json.dumps(GOOD), json.dumps(GOOD | {"t_ms": 4})], "back in time"),
        ([HEADER, json.dumps({"t_ms": 1})], "subject"),
        ([HEADER, "{not json"], "line"),
    ],
)
def test_a_file_that_is_not_a_recording_is_refused_with_its_line(
    tmp_path: Path, lines: list[str], said: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=said) as raised:
        record.load(path)
    assert f"{path}:{len(lines)}:" in str(raised.value)


def test_an_empty_or_missing_recording_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty recording"):
        record.load(empty)
    with pytest.raises(ConfigError, match="cannot read"):
        record.load(tmp_path / "absent.jsonl")
