"""storage's typed errors: each names a stable `reason` a program can branch on and a message
a person can act on."""

from __future__ import annotations

from metanode.errors import MetanodeError


class StorageError(MetanodeError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class LayoutInvalid(StorageError):
    """k, n, size or chunk size out of range."""


class ChunkRejected(StorageError):
    """A chunk whose hash or proof does not match the blob it claims to belong to: corrupt,
    tampered with, or a chunk of another blob."""


class TooFewChunks(StorageError):
    """Fewer than k verified chunks of some stripe: the blob cannot be rebuilt from them."""
