"""Every exception Metanode raises on purpose, in one place.

Rules:
- Public functions of `metanode.codec` and `metanode.crypto` raise only these; a library's own
  exception (cbor2's `CBORDecodeError`, nacl's `ValueError`, …) is caught at the edge and
  re-raised as one of them with a message a person can act on.
- Expected failures of the state machine are result codes, not exceptions (STYLE.md §6).
- `InvariantViolation` is a bug. Nothing catches it: the node halts rather than diverge.
"""

from __future__ import annotations


class MetanodeError(Exception):
    """Base of every deliberate Metanode error; catch this at an edge (CLI, API, peer link)."""


class DecodeError(MetanodeError):
    """Bytes that are not a valid encoding of what was asked for.

    `rule` is a short stable identifier of the broken rule (for example `non_shortest_integer`);
    `offset` is the byte offset in the input where the problem starts, or None when the
    problem is not located at one byte (for example the input as a whole is too large).
    """

    def __init__(self, rule: str, detail: str, offset: int | None = None) -> None:
        self.rule = rule
        self.detail = detail
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{rule}{where}: {detail}")


class EncodeError(MetanodeError):
    """A value that has no deterministic encoding (a float in a consensus object, a set, …)."""


class VerificationError(MetanodeError):
    """A signature, proof or authenticated structure that does not verify."""


class KeyFormatError(MetanodeError):
    """Key material of the wrong length or not a valid key for its scheme."""


class KeystoreError(MetanodeError):
    """A key file that cannot be opened: wrong password, truncated, altered or unreadable."""


class ConfigError(MetanodeError):
    """A configuration or genesis value that is missing or invalid; the message names the field."""


class BenchError(MetanodeError):
    """A benchmark run that measured nothing a figure could stand on; the message says why."""


class NotBuiltError(MetanodeError):
    """A command or feature that is planned but not built yet; the message says which."""


class InvariantViolation(AssertionError):
    """A broken internal invariant: a bug, never bad input. Deliberately not a MetanodeError."""


def check(condition: bool, message: str) -> None:
    """Assert that survives `python -O` (STYLE.md §8)."""
    if not condition:
        raise InvariantViolation(message)
