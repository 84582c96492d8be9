"""The light client (docs/light.md): verify headers from one trusted checkpoint through BLS
certificates, and transactions, receipts, state and notarised execution receipts through
Merkle proofs against them, trusting no full node.

An app imports this package:

    from metanode.light import open_client, now_ms
    client = open_client(Path("~/.metanode-light").expanduser())
    client.sync(now_ms())
    tx, receipt, height = client.verify_tx(tx_hash, now_ms())   # or raises Rejected
"""

from metanode.light.client import ForkDetected, LightClient, SyncReport
from metanode.light.fetcher import HttpSource
from metanode.light.home import Settings, initialise, now_ms, open_client, save
from metanode.light.reasons import Rejected, Rejection
from metanode.light.verifier import LightBlock, TrustOptions, Verifier

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
