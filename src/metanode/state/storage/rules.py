"""storage rules: place a blob on storage nodes; record failed challenges and move a share
whose holder enough other holders report.

PlaceBlob ladder (in order): the layout is valid (storage/coding.py: 1 ≤ k ≤ n ≤ 32, size
1 byte … 64 MiB, chunk 1 … 64 KiB); no blob with this root is placed; the owner's blob bytes
stay within `account_bytes_max`; at least n storage nodes have room for a share under
`node_bytes_max`; the owner holds the fee, `fee_per_kib` × ⌈share bytes / 1024⌉ FLX for each
of the n shares, paid to that share's holder. Nodes come from `storage_nodes` and are ranked
by rendezvous hashing (storage/placement.py), so every validator picks the same ones.

DeleteBlob ladder: the blob is placed; the sender owns it; no app's module is stored in it
(`blob_in_use`: every validator checks a ruling's module against it, and executors fetch it).
Its holders' and its owner's bytes are freed, its fault reports and its placement deleted;
nothing of the fees paid is returned (they paid for the storage already given). Each holder
drops its chunks at its keeper's next round (node/blobs.py).

Epoch fees (`end_block`): while a blob stays placed, its owner pays each share's holder
`epoch_fee_per_kib` per KiB at every epoch boundary; an owner who cannot pay for more than
`grace_epochs` epochs in a row loses the blob (it expires), unless it holds an app's module.

ReportStorageFault ladder: the blob is placed; the share is < n; the sender holds a share of
the blob and is not the reported share's holder; it has not reported this share already. The
fault counts against the holder (`NodeUsage.faults`). When k distinct holders have reported
the share, it moves (storage/placement.py `replacement`) to the storage node with room that
holds the fewest shares of the blob, leaving out the holder that failed and every holder of
another of its shares that stands reported, and its reports are cleared: k, because k holders
are what rebuilding the share takes, so no fewer may order it; and a holder that is really
gone is reported by every survivor. With no such node the reports stay until one registers.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.errors import check
from metanode.state.bank.queries import balance
from metanode.state.bank.rules import move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.registry.queries import nodes
from metanode.state.registry.records import Status
from metanode.state.staking.queries import validator_set
from metanode.state.staking.records import read_params as read_staking_params
from metanode.state.storage import errors, keys
from metanode.state.storage.params import StorageParams, read_params
from metanode.state.storage.records import (
    NodeUsage,
    Placement,
    placements,
    read_account_bytes,
    read_node_usage,
    read_placement,
    write_account_bytes,
    write_node_usage,
    write_placement,
)
from metanode.state.values import decode_uints, encode_uints, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.storage import placement as rendezvous
from metanode.storage.coding import layout_problem
from metanode.types import (
    Address,
    DeleteBlob,
    Denom,
    Event,
    PlaceBlob,
    ReportStorageFault,
    Role,
)

_KIB = 1024


def share_fee(params: StorageParams, share_bytes: int) -> int:
    return params.fee_per_kib * -(-share_bytes // _KIB)


def epoch_share_fee(params: StorageParams, share_bytes: int) -> int:
    return params.epoch_fee_per_kib * -(-share_bytes // _KIB)


def storage_nodes(reader: StateReader, count: int) -> list[Address]:
    """The registry's ACTIVE nodes with the executor role (community nodes host apps, and
    their blobs with them); while fewer than `count` are registered, the current validators
    instead, as the executor draw does (apps/assignment.py)."""
    registered = [
        address
        for address, record in nodes(reader)
        if Role.EXECUTOR in record.roles and record.status is Status.ACTIVE
    ]
    if len(registered) >= count:
        return registered
    return [member.address for member in validator_set(reader)]


def with_room(
    reader: StateReader, params: StorageParams, share_bytes: int, count: int
) -> dict[bytes, Address]:
    """Storage nodes that can take one more share of `share_bytes`, by raw address."""
    return {
        node.raw: node
        for node in storage_nodes(reader, count)
        if read_node_usage(reader, node).bytes_held + share_bytes <= params.node_bytes_max
    }


def on_place_blob(writer: Overlay, context: TxContext, message: PlaceBlob) -> int:
    if layout_problem(message.size, message.k, message.n, message.chunk_bytes) is not None:
        return errors.LAYOUT_INVALID
    if read_placement(writer, message.root) is not None:
        return errors.BLOB_EXISTS
    params = read_params(writer)
    owner = context.sender
    owned = read_account_bytes(writer, owner) + message.size
    if owned > params.account_bytes_max:
        return errors.ACCOUNT_QUOTA_EXCEEDED
    record = Placement(
        owner,
        message.size,
        message.chunk_bytes,
        message.k,
        message.n,
        message.coded_root,
        (),
        context.block.height,
        (context.block.height,) * message.n,
    )
    share_bytes = record.layout.share_bytes
    candidates = with_room(writer, params, share_bytes, message.n)
    chosen = rendezvous.place(message.root, candidates, message.n)
    if chosen is None:
        return errors.NOT_ENOUGH_NODES
    fee = share_fee(params, share_bytes)
    if balance(writer, owner, Denom.FLX) < fee * message.n:
        return errors.FEE_UNFUNDED
    holders = tuple(candidates[raw] for raw in chosen)
    for holder in holders:
        check(move(writer, owner, holder, Denom.FLX, fee) == OK, "storage fee after its check")
        usage = read_node_usage(writer, holder)
        write_node_usage(writer, holder, NodeUsage(usage.bytes_held + share_bytes, usage.faults))
    write_account_bytes(writer, owner, owned)
    write_placement(writer, message.root, replace(record, holders=holders))
    return OK


def on_report_storage_fault(
    writer: Overlay, context: TxContext, message: ReportStorageFault
) -> int:
    record = read_placement(writer, message.root)
    if record is None:
        return errors.BLOB_UNKNOWN
    if message.share >= record.n:
        return errors.SHARE_OUT_OF_RANGE
    accused = record.holders[message.share]
    if context.sender not in record.holders or context.sender == accused:
        return errors.REPORTER_NOT_HOLDER
    key = keys.fault(message.root, message.share, context.sender)
    if writer.get(key) is not None:
        return errors.FAULT_ALREADY_REPORTED
    writer.put(key, b"")
    usage = read_node_usage(writer, accused)
    write_node_usage(writer, accused, NodeUsage(usage.bytes_held, usage.faults + 1))
    reports = [report for report, _ in writer.scan(keys.faults_of(message.root, message.share))]
    if len(reports) >= record.k:
        _move_share(writer, context.block.height, message.root, record, message.share, reports)
    return OK


def _move_share(
    writer: Overlay, height: int, root: bytes, record: Placement, share: int, reports: list[bytes]
) -> None:
    params = read_params(writer)
    share_bytes = record.layout.share_bytes
    candidates = with_room(writer, params, share_bytes, record.n)
    gone = record.holders[share]
    suspected = {gone.raw} | {
        record.holders[other].raw
        for other in range(record.n)
        if next(writer.scan(keys.faults_of(root, other)), None) is not None
    }
    holders_raw = [holder.raw for holder in record.holders]
    chosen = rendezvous.replacement(root, candidates, holders_raw, suspected)
    if chosen is None:
        return
    new = candidates[chosen]
    old_usage = read_node_usage(writer, gone)
    write_node_usage(writer, gone, NodeUsage(old_usage.bytes_held - share_bytes, old_usage.faults))
    new_usage = read_node_usage(writer, new)
    write_node_usage(writer, new, NodeUsage(new_usage.bytes_held + share_bytes, new_usage.faults))
    holders = (*record.holders[:share], new, *record.holders[share + 1 :])
    since = (*record.since[:share], height, *record.since[share + 1 :])
    write_placement(writer, root, replace(record, holders=holders, since=since))
    for report in reports:
        writer.delete(report)


def on_delete_blob(writer: Overlay, context: TxContext, message: DeleteBlob) -> int:
    record = read_placement(writer, message.root)
    if record is None:
        return errors.BLOB_UNKNOWN
    if record.owner != context.sender:
        return errors.BLOB_NOT_OWNER
    if writer.get(keys.pinned(message.root)) is not None:
        return errors.BLOB_IN_USE
    _remove(writer, message.root, record)
    context.events.append(Event("blob_deleted", (("root", message.root),)))
    return OK


def _remove(writer: Overlay, root: bytes, record: Placement) -> None:
    """The blob is no longer stored (deleted, or expired unpaid): its holders' and its owner's
    bytes are freed, its fault reports, unpaid count and placement deleted."""
    share_bytes = record.layout.share_bytes
    for holder in record.holders:
        usage = read_node_usage(writer, holder)
        write_node_usage(writer, holder, NodeUsage(usage.bytes_held - share_bytes, usage.faults))
    owned = read_account_bytes(writer, record.owner)
    write_account_bytes(writer, record.owner, owned - record.size)
    for share in range(record.n):
        for report, _ in list(writer.scan(keys.faults_of(root, share))):
            writer.delete(report)
    writer.delete(keys.unpaid(root))
    writer.delete(keys.placement(root))


def end_block(writer: Overlay, block: BlockContext) -> None:
    """At each epoch boundary (a height that is a multiple of `staking.epoch_blocks`), every
    blob placed in an earlier block pays its epoch fee: `epoch_fee_per_kib` × ⌈share bytes /
    1024⌉ FLX from its owner to each share's holder, all n or none, blobs in root order (the
    state's key order, the same on every node). An owner who cannot pay has the epoch counted
    unpaid (its holders are not paid for it); past `grace_epochs` unpaid epochs in a row the
    blob expires, removed as a deletion removes it, unless an app's module is stored in it (an
    app's module must stay: rulings check against it, executors fetch it), whose count only
    grows. A payment resets the count."""
    if block.height % read_staking_params(writer).epoch_blocks:
        return
    params = read_params(writer)
    for root, record in list(placements(writer)):
        if record.height >= block.height:
            continue  # placed in this block: its placement fee paid for this epoch
        fee = epoch_share_fee(params, record.layout.share_bytes)
        unpaid_key = keys.unpaid(root)
        if balance(writer, record.owner, Denom.FLX) >= fee * record.n:
            for holder in record.holders if fee else ():
                check(move(writer, record.owner, holder, Denom.FLX, fee) == OK, "epoch fee")
            if writer.get(unpaid_key) is not None:
                writer.delete(unpaid_key)
            continue
        data = writer.get(unpaid_key)
        unpaid = 1 + (0 if data is None else decode_uints(data, unpaid_key, 1)[0])
        if unpaid > params.grace_epochs and writer.get(keys.pinned(root)) is None:
            _remove(writer, root, record)
        else:
            writer.put(unpaid_key, encode_uints([unpaid]))


def store_module(writer: Overlay, module_hash: bytes, root: bytes) -> None:
    """Blob `root` holds the app module hashing to `module_hash` (state/apps DeployStoredApp):
    it can no longer be deleted, since a ruling's module is checked against the hash and its
    executors fetch it from the blob."""
    writer.put(keys.module(module_hash), encode_value([root]))
    writer.put(keys.pinned(root), b"")
