"""Committed calls, as the block-commit path hands them to the executor, and the per-call seed.

The seed an app's `random_u64` is keyed by is `tagged_hash("metanode/exec-seed/v1",
CBOR [1, block_seed, app_id, version, seq])`. It differs for every call, every node computes it
from the chain alone, and since the receipt signs its seed, a receipt names the one call it
answers: a verifier recomputes the seed from the block and the call's (app, version, seq) and
compares. The function lives with the receipt (docklock.receipt.call_seed), since the
court's replay in the state machine computes it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.docklock.receipt import Request, call_seed


@dataclass(frozen=True, slots=True)
class CommittedCall:
    """One CallApp transaction of a committed block, in the order the chain gave it."""

    app_id: bytes
    version: int
    seq: int
    function: str
    input: bytes
    fuel_limit: int
    height: int
    block_time: int
    block_seed: bytes
    # False for a call this executor runs only to reach the state its drawn calls start from
    # (it was not drawn for it): it signs and publishes nothing for it.
    drawn: bool = True
    # The receipt's `previous`, when not the executor's last receipt: the node sets it to the
    # executor's last notarised receipt once LogBlocks have passed receipts of its that they
    # left out (they never will hold them, and the chain checks `previous` against its tip).
    previous: bytes | None = None
    # The client's signed transaction the call came from: the receipt then carries both
    # origins' signatures (docklock/receipt.py, version 2).
    request: Request | None = None
    # A drawn call of an app this node watches without being drawn for it (`[court]
    # watch_apps`): it signs and keeps the receipt, to challenge a false one with, and
    # publishes nothing.
    watched: bool = False

    @property
    def seed(self) -> bytes:
        return call_seed(self.block_seed, self.app_id, self.version, self.seq)
