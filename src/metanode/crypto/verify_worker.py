"""A child process that verifies Ed25519 signatures for `metanode.crypto.verifiers`.

Frames on stdin: a request is u32 count, then per item u32 message length, the 32-byte public
key, the 64-byte signature and the message; the reply on stdout is one byte per item, 1 for a
valid signature and 0 otherwise (`ed25519.verify_many`, the node's one rule). The worker exits
when stdin closes.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Sequence
from typing import BinaryIO

from metanode.crypto import ed25519

_HEAD = struct.Struct(">I")
_KEY_AND_SIGNATURE = ed25519.PUBLIC_KEY_BYTES + ed25519.SIGNATURE_BYTES
# The zero key is of small order, which the rule rejects whatever the signature.
_NEVER_VALID = bytes(_KEY_AND_SIGNATURE)


def write_request(out: BinaryIO, items: Sequence[tuple[bytes, bytes, bytes]]) -> None:
    parts = [_HEAD.pack(len(items))]
    for public_key, message, signature in items:
        if (
            len(public_key) == ed25519.PUBLIC_KEY_BYTES
            and len(signature) == ed25519.SIGNATURE_BYTES
        ):
            parts += (_HEAD.pack(len(message)), public_key, signature, message)
        else:  # a malformed triple keeps its place with a key and signature that never verify
            parts += (_HEAD.pack(len(message)), _NEVER_VALID, message)
    out.write(b"".join(parts))


def read_exactly(source: BinaryIO, size: int) -> bytes:
    chunks = []
    while size:
        chunk = source.read(size)
        if not chunk:
            raise EOFError("the verification worker closed its pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    while True:
        try:
            (count,) = _HEAD.unpack(read_exactly(source, _HEAD.size))
        except EOFError:
            return
        items = []
        for _ in range(count):
            (length,) = _HEAD.unpack(read_exactly(source, _HEAD.size))
            fixed = read_exactly(source, _KEY_AND_SIGNATURE)
            message = read_exactly(source, length)
            items.append(
                (fixed[: ed25519.PUBLIC_KEY_BYTES], message, fixed[ed25519.PUBLIC_KEY_BYTES :])
            )
        sink.write(bytes(ed25519.verify_many(items)))
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
