"""The light client (docs/light.md): verify headers from one trusted checkpoint through BLS
certificates, and transactions, receipts, state and notarised execution receipts through
Merkle proofs against them, trusting no full node.

An app imports this package:

    from metanode.light import open_client, now_ms
    client = open_client(Path("~/.metanode-light").expanduser())
    client.sync(now_ms())
    tx, receipt, height = client.verify_tx(tx_hash, now_ms())   # or raises Rejected
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metanode.light.client import ForkDetected, LightClient, SyncReport
    from metanode.light.fetcher import HttpSource
    from metanode.light.home import Settings, initialise, now_ms, open_client, save
    from metanode.light.reasons import Rejected, Rejection
    from metanode.light.verifier import LightBlock, TrustOptions, Verifier

# The submodule of each name, loaded when the name is first asked for (PEP 562): importing one
# submodule (the CLI reads `verifier`'s defaults) must not load httpx and the rest, which every
# `metanode` command would then pay for at start-up.
_SUBMODULES = {
    "ForkDetected": "client",
    "LightClient": "client",
    "SyncReport": "client",
    "HttpSource": "fetcher",
    "Settings": "home",
    "initialise": "home",
    "now_ms": "home",
    "open_client": "home",
    "save": "home",
    "Rejected": "reasons",
    "Rejection": "reasons",
    "LightBlock": "verifier",
    "TrustOptions": "verifier",
    "Verifier": "verifier",
}

__all__ = [
    "ForkDetected",
    "HttpSource",
    "LightBlock",
    "LightClient",
    "Rejected",
    "Rejection",
    "Settings",
    "SyncReport",
    "TrustOptions",
    "Verifier",
    "initialise",
    "now_ms",
    "open_client",
    "save",
]


def __getattr__(name: str) -> Any:
    if name not in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_SUBMODULES[name]}"), name)
