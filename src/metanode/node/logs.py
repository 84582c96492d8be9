"""A node's logs: JSON lines in `node.log` in its home (rotated), the same records readable on
stderr, and the reading side of both for `metanode logs`.

Every line carries `time` (UTC, ISO 8601, milliseconds), `level`, `logger` and `message`, then
the fields its call passes in `extra` (`height`, `round`, `txs`, `peer`, `reason` …), and a
`traceback` when there is one. One function (`readable`) turns those fields into the console
form, so what `metanode start` prints and what `metanode logs` shows are the same lines.

The file handler is the node's own, not a redirect of its stdout: a redirected file cannot be
rotated (the writer keeps its descriptor), and before this module nothing configured logging
at all, so every `log.info` went nowhere and `node.log` stayed empty.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO

LOG_FILE = "node.log"
# What a node process printed outside logging (an interpreter crash, the CLI's own error line),
# when a supervisor (`metanode up`) started it.
STDERR_FILE = "stderr.log"
LEVELS = ("debug", "info", "warning", "error", "critical")
_BASE_FIELDS = ("time", "level", "logger", "message")
# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "time": _iso(record.created),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRIBUTES:
            entry[key] = value
    if record.exc_info:
        entry["traceback"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return entry


def _iso(created: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


def readable(entry: Mapping[str, Any]) -> str:
    """The console form of one record: time, level, logger, message, then key=value fields."""
    if "time" not in entry:  # not a record (`parse` of another line): the line itself
        return str(entry.get("message", ""))
    clock = str(entry.get("time", "?")).partition("T")[2].rstrip("Z") or "?"
    level = str(entry.get("level", "?")).upper()
    line = f"{clock} {level:<8} {entry.get('logger', '?')}: {entry.get('message', '')}"
    extras = [
        f"{key}={value}"
        for key, value in entry.items()
        if key not in _BASE_FIELDS and key != "traceback"
    ]
    if extras:
        line += "  " + " ".join(extras)
    if "traceback" in entry:
        line += "\n" + str(entry["traceback"])
    return line


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields(record), default=str, separators=(",", ":"))


class Console(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return readable(fields(record))


def setup(
    home: Path,
    level: str,
    *,
    file_bytes_max: int,
    files_max: int,
    console: bool,
    file_name: str = LOG_FILE,
) -> None:
    """Send every logger's records at `level` and above to `home/file_name` (JSON lines, rotated
    past `file_bytes_max` keeping `files_max` older files) and, if `console`, to stderr. A
    supervisor (`bpci server`) logs to a file of its own beside its node's: one rotating file
    has one writer."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    to_file = RotatingFileHandler(
        home / file_name, maxBytes=file_bytes_max, backupCount=files_max, encoding="utf-8"
    )
    to_file.setFormatter(JsonLines())
    root.addHandler(to_file)
    if console:
        to_console = logging.StreamHandler(sys.stderr)
        to_console.setFormatter(Console())
        root.addHandler(to_console)
    root.setLevel(level.upper())
    logging.captureWarnings(True)


def append(node_dir: Path, level: str, logger: str, message: str, **extra: Any) -> None:
    """One record in a node's log from outside the node (its supervisor killed it, say)."""
    record = logging.makeLogRecord(
        {"name": logger, "levelname": level.upper(), "msg": message, **extra}
    )
    with (node_dir / LOG_FILE).open("a", encoding="utf-8") as stream:
        stream.write(JsonLines().format(record) + "\n")


# Reading ---------------------------------------------------------------------------------------


def files(node_dir: Path) -> list[Path]:
    """A node's log files, oldest first (`node.log.N` … `node.log.1`, `node.log`)."""
    rotated = [
        path
        for path in node_dir.glob(LOG_FILE + ".*")
        if path.suffix[1:].isascii() and path.suffix[1:].isdigit()
    ]
    rotated.sort(key=lambda path: -int(path.suffix[1:]))
    current = node_dir / LOG_FILE
    return rotated + ([current] if current.exists() else [])


def parse(line: str) -> dict[str, Any]:
    """One JSON line as fields; a line that is not one (an older log, a crash) is its message."""
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        return {"message": line.rstrip("\n")}
    return entry


def read(node_dir: Path) -> Iterator[str]:
    for path in files(node_dir):
        with path.open(encoding="utf-8", errors="replace") as stream:
            yield from (line.rstrip("\n") for line in stream if line.strip())


def last_line(node_dir: Path) -> str | None:
    """The last thing a node said: the end of its stderr (a crash, a refusal to start) if it
    printed anything there, else the last record of its log, in the console form."""
    for path, console_form in ((node_dir / STDERR_FILE, False), (node_dir / LOG_FILE, True)):
        lines = _tail(path).splitlines()
        if lines:
            return readable(parse(lines[-1])).splitlines()[0] if console_form else lines[-1]
    return None


def _tail(path: Path, bytes_max: int = 64 * 1024) -> str:
    try:
        with path.open("rb") as stream:
            stream.seek(max(0, stream.seek(0, 2) - bytes_max))
            return stream.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


class Follower:
    """The lines a node adds to its log, across rotations (as `tail -F`), after the last few
    it already holds."""

    def __init__(self, node_dir: Path, last_lines: int = 10) -> None:
        self.path = node_dir / LOG_FILE
        self._backlog = _tail(self.path).splitlines()[-last_lines:] if last_lines else []
        self._partial = ""
        self._stream = self._open()
        if self._stream is not None:
            self._stream.seek(0, 2)

    def _open(self) -> TextIO | None:
        try:
            return self.path.open(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def new_lines(self) -> list[str]:
        lines, self._backlog = self._backlog, []
        if self._stream is None:
            self._stream = self._open()
        if self._stream is None:
            return lines
        data = self._stream.read()
        if _replaced(self.path, self._stream):
            self._stream.close()
            self._stream = self._open()
            data += self._stream.read() if self._stream is not None else ""
        *complete, self._partial = (self._partial + data).split("\n")
        return lines + [line for line in complete if line.strip()]


def _replaced(path: Path, stream: TextIO) -> bool:
    """Whether `path` now names another file than the open `stream` (it was rotated)."""
    try:
        return os.stat(path).st_ino != os.fstat(stream.fileno()).st_ino
    except OSError:
        return False  # between the rename and the new file: next time
