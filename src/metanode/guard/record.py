"""Recordings of what a node's guard observed (`[guard] record`, `metanode bench
--record-trace`): the normal traffic the guard is measured on (bench/security.py).

Format (docs/security.md "Recordings"): JSON lines. A recording is one or more sections, each
one node's view, opening with a header line

    {"format": "metanode-guard-trace/1", "observer": "<node id>",
     "client_allowance": [per_s, burst], "allowed": ["client:127.0.0.1", ...]}

followed by one line per observation, time-ordered within its section:

    {"t_ms": 1234, "subject": "client:127.0.0.2", "kind": "request", "size": 512,
     "outcome": "pass"}

`t_ms` counts from the recording's start, `kind` is a `Kind` name, `size` the bytes of a
request or frame (0 for the other kinds), `outcome` the guard's verdict then. No payload, key or
signature is written: a subject is a client's address or a peer's node id, which the node saw
anyway. Sections concatenate: `metanode bench` joins its validators' recordings into one file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from metanode.errors import ConfigError

from . import constants
from .score import Allowance, Kind, Verdict

log = logging.getLogger("metanode.guard")

FORMAT = "metanode-guard-trace/1"
Observation = tuple[int, str, Kind, int]  # (ms, subject, kind, bytes), as traces.py replays
_KINDS = {kind.name.lower(): kind for kind in Kind}
_OUTCOMES = {verdict.value for verdict in Verdict}


class Recorder:
    """Appends one node's observations to a recording; flushed once a second (the guard's
    tick) rather than per request, and closed by the node when it stops."""

    def __init__(
        self,
        path: Path,
        observer: str,
        client_allowance: Allowance,
        allowed: list[str],
        origin_ms: int,
    ) -> None:
        self.path = path
        self.origin_ms = origin_ms
        self.last_ms = 0  # offsets never go back, though the wall clock may be set back
        self.written_bytes = 0
        self.full = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file: IO[str] = path.open("a", encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"[guard] record: cannot open {path} for writing: {error.strerror}"
            ) from None
        self._write(
            {
                "format": FORMAT,
                "observer": observer,
                "client_allowance": [client_allowance.per_s, client_allowance.burst],
                "allowed": sorted(allowed),
            }
        )

    def observation(
        self, now_ms: int, subject: str, kind: Kind, size: int, outcome: Verdict
    ) -> None:
        if self.full:
            return
        if self.written_bytes >= constants.record_bytes_max:
            self.full = True
            log.warning(
                "guard recording full; no more observations are recorded",
                extra={"path": str(self.path), "bytes": self.written_bytes},
            )
            return
        self.last_ms = max(self.last_ms, now_ms - self.origin_ms)
        self._write(
            {
                "t_ms": self.last_ms,
                "subject": subject,
                "kind": kind.name.lower(),
                "size": size,
                "outcome": outcome.value,
            }
        )

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def _write(self, item: dict[str, Any]) -> None:
        line = json.dumps(item, separators=(",", ":")) + "\n"
        self.file.write(line)
        self.written_bytes += len(line)


@dataclass(frozen=True, slots=True)
class Section:
    """One node's view in a recording."""

    observer: str
    client_allowance: Allowance
    allowed: tuple[str, ...]
    observations: list[Observation]
    outcomes: dict[str, set[str]]  # subject → the verdicts the live guard gave it

    @property
    def duration_ms(self) -> int:
        return self.observations[-1][0] + 1 if self.observations else 0


def load(path: Path) -> list[Section]:
    """The sections of a recording; a file that is not one is refused with the line at fault."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the recording {path}: {error}") from None
    sections: list[Section] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if "format" in item:
                sections.append(_header(item))
            elif not sections:
                raise ValueError(f'the first line must be a header with "format": "{FORMAT}"')
            else:
                _observe(sections[-1], item)
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigError(f"{path}:{number}: not a guard recording line ({error})") from None
    if not sections:
        raise ConfigError(f"{path}: an empty recording (no header line)")
    return sections


def _header(item: dict[str, Any]) -> Section:
    if item["format"] != FORMAT:
        raise ValueError(f"format {item['format']!r}, not {FORMAT!r}")
    per_s, burst = item["client_allowance"]
    allowed = item["allowed"]
    if not all(isinstance(value, int) and value > 0 for value in (per_s, burst)):
        raise ValueError("client_allowance must be two positive integers")
    if not (isinstance(allowed, list) and all(isinstance(name, str) for name in allowed)):
        raise ValueError("allowed must be a list of subjects")
    return Section(str(item["observer"]), Allowance(per_s, burst), tuple(allowed), [], {})


def _observe(section: Section, item: dict[str, Any]) -> None:
    t_ms, subject, size, outcome = item["t_ms"], item["subject"], item["size"], item["outcome"]
    kind = _KINDS.get(item["kind"])
    if kind is None:
        raise ValueError(f"kind {item['kind']!r} is none of {', '.join(_KINDS)}")
    if not (isinstance(t_ms, int) and isinstance(size, int) and t_ms >= 0 and size >= 0):
        raise ValueError("t_ms and size must be integers of at least 0")
    if not isinstance(subject, str) or not subject.startswith(("client:", "peer:")):
        raise ValueError("subject must start with client: or peer:")
    if outcome not in _OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is none of {', '.join(sorted(_OUTCOMES))}")
    if section.observations and t_ms < section.observations[-1][0]:
        raise ValueError(f"t_ms {t_ms} goes back in time")
    section.observations.append((t_ms, subject, kind, size))
    section.outcomes.setdefault(subject, set()).add(outcome)
