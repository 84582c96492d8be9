"""A node's logs: JSON lines with the fields of each call, the console form, rotation, levels
that cost nothing when off, and following a log across a rotation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.node import logs


@pytest.fixture
def node_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for handler in list(logging.getLogger().handlers):  # leave pytest's logging as it was
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_a_record_is_one_json_line_with_its_fields_and_the_same_in_the_console_form(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup(node_dir, "info", file_bytes_max=1 << 20, files_max=2, console=True)
    logging.getLogger("metanode.node").info("committed", extra={"height": 7, "round": 1, "txs": 3})
    [line] = list(logs.read(node_dir))
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "metanode.node"
    assert entry["message"] == "committed" and entry["time"].endswith("Z")
    assert (entry["height"], entry["round"], entry["txs"]) == (7, 1, 3)
    printed = capsys.readouterr().err
    assert "INFO" in printed and "committed  height=7 round=1 txs=3" in printed
    assert logs.readable(entry) == printed.strip()


def test_a_traceback_stays_inside_its_one_line(node_dir: Path) -> None:
    logs.setup(node_dir, "info", file_bytes_max=1 << 20, files_max=2, console=False)
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("metanode.node").exception("failed", extra={"height": 2})
    [line] = list(logs.read(node_dir))
    assert "ValueError: broken" in json.loads(line)["traceback"]


def test_a_level_that_is_off_formats_nothing(node_dir: Path) -> None:
    logs.setup(node_dir, "warning", file_bytes_max=1 << 20, files_max=2, console=False)
    formatted = []

    class Costly:
        def __str__(self) -> str:
            formatted.append(1)
            return "costly"

    logging.getLogger("metanode.node").info("proposal %s", Costly())
    assert formatted == [] and list(logs.read(node_dir)) == []


def test_the_log_rotates_and_is_read_oldest_first(node_dir: Path) -> None:
    logs.setup(node_dir, "info", file_bytes_max=64 * 1024, files_max=2, console=False)
    for index in range(2_000):
        logging.getLogger("metanode.node").info("line", extra={"index": index})
    assert sorted(path.name for path in node_dir.glob("node.log*")) == [
        "node.log",
        "node.log.1",
        "node.log.2",
    ]
    indexes = [json.loads(line)["index"] for line in logs.read(node_dir)]
    assert indexes == sorted(indexes) and indexes[-1] == 1_999
    assert all(path.stat().st_size <= 64 * 1024 for path in node_dir.glob("node.log*"))


def test_following_reads_new_lines_across_a_rotation(node_dir: Path) -> None:
    logs.setup(node_dir, "info", file_bytes_max=64 * 1024, files_max=1, console=False)
    logger = logging.getLogger("metanode.node")
    logger.info("before", extra={"index": -1})
    follower = logs.Follower(node_dir, last_lines=1)
    seen: list[int] = []
    for index in range(1_000):  # several rotations
        logger.info("line", extra={"index": index})
        if index % 50 == 0:
            seen += [json.loads(line)["index"] for line in follower.new_lines()]
    seen += [json.loads(line)["index"] for line in follower.new_lines()]
    assert seen[0] == -1 and seen[-1] == 999
    assert seen == sorted(seen)


def test_the_last_line_is_what_the_node_printed_else_its_last_record(node_dir: Path) -> None:
    assert logs.last_line(node_dir) is None
    logs.append(node_dir, "warning", "metanode.up", "killed", node="v0")
    assert "WARNING" in (logs.last_line(node_dir) or "") and "node=v0" in (
        logs.last_line(node_dir) or ""
    )
    (node_dir / logs.STDERR_FILE).write_text("Traceback …\nOSError: boom\n")
    assert logs.last_line(node_dir) == "OSError: boom"
