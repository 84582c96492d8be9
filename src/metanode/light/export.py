"""Build an audit bundle (light/audit.py, docs/audit.md) from an executor node's gateway.

The exporter trusts nothing it fetches more than the auditor will: it gathers, for each call
of the app committed in the height range, the receipt this node's executor signed, the
receipt's path through its LogBlock into the state (`/api/v1/proofs/receipt/…`), the
client's transaction with its path into its block (`/api/v1/proofs/tx/…`), then runs the light
client from the anchor to the newest proof's height through a source that records every light
block it is served, so the bundle holds exactly the validator-set chain a verifier will walk,
and the headers from the lowest proof's height up, linked by their hashes. A call whose receipt
this node does not hold, or that no LogBlock has notarised yet, is left out and reported. The
calls just below and above the records, when they exist, are added as boundary witnesses
(their transactions' proofs), which bound the heights the bundle is complete over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode
from metanode.docklock.receipt import Receipt as ExecutionReceipt
from metanode.errors import DecodeError, MetanodeError
from metanode.types import Address, BlockHeader
from metanode.types.light_attack import LightAttackEvidence

from . import proofs
from .audit import AuditBundle, Record, notarised_wire, tx_proof_wire
from .client import LightClient
from .fetcher import HttpSource
from .reasons import Rejected, Rejection
from .verifier import LightBlock, Verifier

log = logging.getLogger("metanode.light")
page_max = 100
calls_max = 100_000  # audit.records_max: one bundle's records


class ExportError(MetanodeError):
    """The node cannot give what a bundle needs (the message says what and why)."""


@dataclass(frozen=True, slots=True)
class Export:
    bundle: AuditBundle
    left_out: tuple[tuple[int, str], ...]  # (seq, why) of the range's calls not in the bundle


class _Recording:
    """A source that keeps every light block it serves, by height."""

    def __init__(self, source: HttpSource) -> None:
        self.source = source
        self.name = source.name
        self.blocks: dict[int, LightBlock] = {}

    def light_block(self, height: int | None) -> LightBlock:
        block = self.source.light_block(height)
        self.blocks[block.height] = block
        return block

    def header(self, height: int) -> BlockHeader:
        return self.light_block(height).header

    def tx_proof(self, tx_hash: bytes) -> proofs.TxProof:
        return self.source.tx_proof(tx_hash)

    def account_proof(self, address: Address, height: int | None) -> proofs.StateProof:
        return self.source.account_proof(address, height)

    def receipt_proof(self, receipt_hash: bytes) -> proofs.NotarisedProof:
        return self.source.receipt_proof(receipt_hash)

    def submit_evidence(self, evidence: LightAttackEvidence) -> str:
        return self.source.submit_evidence(evidence)


def export(
    source: HttpSource,
    app_id: bytes,
    from_height: int,
    to_height: int,
    anchor_height: int | None = None,
) -> Export:
    """The bundle of the app's calls committed in from_height..to_height."""
    if not 1 <= from_height <= to_height:
        raise ExportError(f"the range {from_height}..{to_height} is empty")
    wanted = _calls(source, app_id, from_height, to_height)
    signed = _receipts(source, app_id, wanted)
    records: list[Record] = []
    left_out: list[tuple[int, str]] = []
    heights: list[int] = []
    for seq in wanted:
        receipt = signed.get(seq)
        if receipt is None:
            left_out.append((seq, "this node's executor holds no receipt of the call"))
            continue
        try:
            notarised = source.receipt_proof(receipt.hash())
        except Rejected as rejected:
            if rejected.reason is not Rejection.NOT_FOUND:
                raise
            left_out.append((seq, "no LogBlock has notarised the receipt yet"))
            continue
        tx_proof = None if receipt.request is None else source.tx_proof(receipt.request.tx_hash)
        heights.append(notarised.state.height)
        if tx_proof is not None:
            heights.append(tx_proof.height)
        records.append(
            Record(
                seq,
                receipt.encode(),
                None if tx_proof is None else tx_proof_wire(tx_proof),
                notarised_wire(notarised),
            )
        )
    seqs = [record.seq for record in records]
    bounds = (
        _bound(source, app_id, min(seqs) - 1) if seqs else None,
        _bound(source, app_id, max(seqs) + 1) if seqs else None,
    )
    heights += [bound[1][0] for bound in bounds if bound is not None]
    top_height = max(heights, default=source.light_block(None).height)
    anchor = from_height if anchor_height is None else anchor_height
    if anchor > top_height:
        raise ExportError(f"the anchor {anchor} is above the newest height proved, {top_height}")
    recording = _Recording(source)
    top = recording.light_block(top_height)
    block = recording.light_block(anchor)
    client = LightClient.initialise(
        Verifier(block.header.chain_id), anchor, block.hash(), recording
    )
    client.sync(top.header.timestamp_ms, top_height)
    lowest = min(heights, default=top_height)
    headers = tuple(source.header(height) for height in range(lowest, top_height))
    log.info(
        "audit bundle built",
        extra={"app": app_id.hex()[:16], "records": len(records), "left_out": len(left_out)},
    )
    bundle = AuditBundle(
        block.header.chain_id,
        app_id,
        anchor,
        tuple(recording.blocks[height] for height in sorted(recording.blocks)),
        headers,
        tuple(records),
        bounds,
    )
    return Export(bundle, tuple(left_out))


def _bound(source: HttpSource, app_id: bytes, seq: int) -> list[Any] | None:
    """The boundary witness of call `seq`: [seq, its transaction's proof], or None when there
    is no such call (below the app's first, or above its latest)."""
    if seq < 0:
        return None
    page = source.get_json(
        f"/api/v1/apps/{app_id.hex()}/calls",
        f"call {seq} of app {app_id.hex()}",
        {"from": seq, "limit": 1},
    )
    calls = page["calls"]
    if not calls or calls[0]["seq"] != seq:
        return None
    return [seq, tx_proof_wire(source.tx_proof(bytes.fromhex(calls[0]["tx_hash"])))]


def _calls(source: HttpSource, app_id: bytes, from_height: int, to_height: int) -> list[int]:
    """The seqs of the app's calls committed in the range (the chain's call records)."""
    seqs: list[int] = []
    start: int | None = 0
    while start is not None:
        page = source.get_json(
            f"/api/v1/apps/{app_id.hex()}/calls",
            f"calls of app {app_id.hex()}",
            {"from": start, "limit": page_max},
        )
        for call in page["calls"]:
            if call["height"] > to_height:
                return seqs
            if call["height"] >= from_height:
                seqs.append(call["seq"])
        if len(seqs) > calls_max:
            raise ExportError(f"more than {calls_max} calls in the range: split it")
        start = page["next"]
    return seqs


def _receipts(source: HttpSource, app_id: bytes, wanted: list[int]) -> dict[int, ExecutionReceipt]:
    found: dict[int, ExecutionReceipt] = {}
    if not wanted:
        return found
    start: int | None = wanted[0]
    last = wanted[-1]
    while start is not None and start <= last:
        page = source.get_json(
            f"/api/v1/apps/{app_id.hex()}/receipts",
            f"receipts of app {app_id.hex()}",
            {"from": start, "limit": page_max},
        )
        for item in page["receipts"]:
            try:
                found[item["seq"]] = ExecutionReceipt.from_wire(
                    decode(bytes.fromhex(item["receipt"]))
                )
            except (DecodeError, ValueError) as error:
                raise ExportError(
                    f"receipt of call {item['seq']} does not decode: {error}"
                ) from None
        start = page["next"]
    return found
