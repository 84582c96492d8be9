"""Blocks of free TCP ports on loopback, for local networks (`metanode bench`, the tests).

Why not `bind(("127.0.0.1", 0))`: the kernel picks such ports from its ephemeral range, the
range it also takes the source port of every outgoing connection from. A validator that dials
a peer not yet listening holds, for a moment, a source port that may be the very port another
validator of the same network is about to listen on; that one then fails to start with
"address in use". Blocks are therefore chosen below the ephemeral range, at random so that
two networks started at once (parallel test workers) rarely try the same block, and each port
is checked by binding it.
"""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

from metanode.errors import ConfigError

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_EPHEMERAL_LOW_DEFAULT = 32_768  # Linux's default when the file cannot be read
_LOWEST = 10_000  # below this, ports of well-known services are more likely
_ATTEMPTS = 200


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _EPHEMERAL_LOW_DEFAULT


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """A base port such that base .. base + count - 1 are all free on `host` now."""
    high = _ephemeral_low() - count
    if high <= _LOWEST:  # an unusual range that starts low: take what is above it
        high = 65_000 - count
    chooser = random.SystemRandom()  # not the state machine's: a CLI picking ports
    for _ in range(_ATTEMPTS):
        base = chooser.randrange(_LOWEST, high)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    stack.enter_context(socket.socket()).bind((host, port))
        except OSError:
            continue
        return base
    raise ConfigError(
        f"no block of {count} free TCP ports on {host} between {_LOWEST} and {high} "
        f"after {_ATTEMPTS} tries"
    )
