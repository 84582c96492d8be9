"""Split-origin audit bundles (docs/audit.md): their format, and their offline verification
with the light client, record by record, each verified or not with a reason and the field.

Rules: pure (no I/O, no clock: the caller passes the bytes, and the bundle's own newest header
is "now" for the trusting period), and nothing in a bundle is believed before it is checked.
A bundle may hold nothing that the verification does not use, so that no byte of it can be
altered unnoticed: a light block or header the checks never read refuses the whole bundle.

Theory of operation. The bundle is one canonical CBOR item, tagged `metanode/audit-bundle/v1`:

    [2, chain_id, app_id, anchor_height,
     light_blocks: [[header, certificate, [[address, power, key, bls_key, vrf_key]…]]…],
     headers: [header…],
     records: [[seq, receipt, tx_proof | null, notarised_proof]…],
     bounds: [[seq, tx_proof] | null, [seq, tx_proof] | null]]

1. The light client is initialised at the anchor block (its hash, given by the auditor or
   else printed for them to compare) and synced to the newest light block, through the blocks
   the bundle holds: the validator-set chain, adjacent or skipping as `LightClient.sync` asks.
2. Headers below the newest are linked to it by `previous_hash`, down to the lowest height a
   proof needs; each is then as trusted as the newest.
3. Each record: its receipt is a leaf of a LogBlock that the state under a verified header
   holds (`proofs.verify_notarised`), for call `seq` of the app, signed by its executor; it is
   split-origin (receipt version 2): the client's CallApp transaction has the hash, sender and
   signature the receipt names, the client's signature verifies, it asks for the receipt's
   function and input, and it is in a verified block, whose receipt records the call's seq
   (`proofs.verify_tx`); the report gives that block's height. The height range an export
   was asked for is not in the bundle: nothing could check it, and a bundle holds nothing
   unchecked.
4. Completeness: between its lowest and highest verified call the bundle must hold every call
   (`AuditReport.missing` names the others; a bundle missing one does not verify), and each
   boundary witness present must be the call next to the records, made in a verified block:
   the heights strictly between the witnesses' blocks hold no call the bundle leaves out
   (`AuditReport.complete_heights`; docs/audit.md, "Completeness").
A byte that breaks the CBOR itself is located by walking the structure to the offset where the
strict decoder stopped (`locate`); since bytes before an altered length or type are intact,
the walk names the item where the structure broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import cbor2

from metanode.codec import decode, encode, tags
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto.hashing import blake3_hash
from metanode.docklock.receipt import Receipt as ExecutionReceipt
from metanode.docklock.receipt import Request
from metanode.errors import ConfigError, DecodeError, MetanodeError, VerificationError
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.codes import OK
from metanode.types import Address, BlockHeader, CallApp, CommitCertificate, Transaction
from metanode.types.fields import expect_array, expect_bytes, expect_text, expect_uint

from . import proofs
from .client import LightClient
from .reasons import Rejected, Rejection
from .verifier import LightBlock, Verifier

BUNDLE_VERSION = 2  # 2 added `bounds`
light_blocks_max = 4_096
headers_max = 100_000
records_max = 100_000

# The names of each array's positions, by the path of the array ("*": any index).
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {
    (): (
        "version", "chain_id", "app_id", "anchor_height", "light_blocks", "headers", "records",
        "bounds",
    ),
    ("bounds", "*"): ("seq", "tx_proof"),
    ("bounds", "*", "tx_proof"): ("height", "tx", "inclusion", "receipt", "receipt_inclusion"),
    ("light_blocks", "*"): ("header", "certificate", "validators"),
    ("records", "*"): ("seq", "receipt", "tx_proof", "notarised_proof"),
    ("records", "*", "tx_proof"): ("height", "tx", "inclusion", "receipt", "receipt_inclusion"),
    ("records", "*", "notarised_proof"): ("receipt_hash", "inclusion", "logblock_key", "state"),
    ("records", "*", "notarised_proof", "state"): ("height", "key", "value", "proof"),
}  # fmt: skip
# Which part of a light block a refusal of it points at.
_LIGHT_FIELDS = {
    Rejection.VALIDATOR_SET_MISMATCH: "validators",
    Rejection.SIGNER_OUTSIDE_SET: "certificate",
    Rejection.INSUFFICIENT_POWER: "certificate",
    Rejection.BAD_SIGNATURE: "certificate",
    Rejection.WRONG_HEIGHT: "certificate",
}


class BundleRefused(MetanodeError):
    """The bundle as a whole is refused (it does not decode, or its header chain does not
    verify): no record of it can be checked. `location` names the item, `reason` is stable."""

    def __init__(self, reason: str, location: str, detail: str) -> None:
        self.reason = reason
        self.location = location
        self.detail = detail
        super().__init__(f"{reason} at {location}: {detail}")


@dataclass(frozen=True, slots=True)
class Record:
    """One call's evidence, kept as its wire items: a record that does not parse is reported
    as that record's failure, never the bundle's."""

    seq: int
    receipt: bytes
    tx_proof: Any
    notarised: Any

    def to_wire(self) -> list[Any]:
        return [self.seq, self.receipt, self.tx_proof, self.notarised]


@dataclass(frozen=True, slots=True)
class AuditBundle:
    chain_id: str
    app_id: bytes
    anchor_height: int
    light_blocks: tuple[LightBlock, ...]
    headers: tuple[BlockHeader, ...]
    records: tuple[Record, ...]
    # The calls just outside the records, [seq, tx_proof] or None: below, then above.
    bounds: tuple[Any, Any] = (None, None)

    def encode(self) -> bytes:
        body = [
            BUNDLE_VERSION, self.chain_id, self.app_id, self.anchor_height,
            [_light_block_wire(block) for block in self.light_blocks],
            [header.encode() for header in self.headers],
            [record.to_wire() for record in self.records],
            list(self.bounds),
        ]  # fmt: skip
        return encode(cbor2.CBORTag(tags.AUDIT_BUNDLE.number, body))

    @classmethod
    def decode(cls, data: bytes) -> AuditBundle:
        """Raises BundleRefused naming where the bytes stop being a bundle."""
        try:
            value = decode(data)
        except DecodeError as error:
            offset = error.offset
            where = "bundle" if offset is None else locate(data, offset)
            raise BundleRefused("malformed", where, str(error)) from None
        if not isinstance(value, cbor2.CBORTag) or value.tag != tags.AUDIT_BUNDLE.number:
            raise BundleRefused("malformed", "bundle", "not a tagged audit bundle")
        fields = _parse("bundle", lambda: expect_array(value.value, "bundle", 8))
        if type(fields[0]) is not int or fields[0] != BUNDLE_VERSION:
            raise BundleRefused("malformed", "version", f"unknown bundle version {fields[0]!r}")
        return cls(
            _parse("chain_id", lambda: expect_text(fields[1], "chain_id", 64)),
            _parse("app_id", lambda: expect_bytes(fields[2], "app_id", 32)),
            _parse("anchor_height", lambda: expect_uint(fields[3], "anchor_height")),
            tuple(
                _parse(f"light_blocks[{index}]", lambda item=item: _light_block(item))
                for index, item in enumerate(_items(fields[4], "light_blocks", light_blocks_max))
            ),
            tuple(
                _parse(
                    f"headers[{index}]",
                    lambda item=item: BlockHeader.decode(expect_bytes(item, "header")),
                )
                for index, item in enumerate(_items(fields[5], "headers", headers_max))
            ),
            tuple(
                _parse(f"records[{index}]", lambda item=item: _record(item))
                for index, item in enumerate(_items(fields[6], "records", records_max))
            ),
            _parse("bounds", lambda: expect_array(fields[7], "bounds", 2)),
        )


@dataclass(frozen=True, slots=True)
class RecordResult:
    index: int
    seq: int
    verified: bool
    height: int | None = None  # the block of the client's call, once its proof verified
    reason: str = ""  # stable name when not verified
    location: str = ""  # the record's field the failure points at
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AuditReport:
    chain_id: str
    app_id: bytes
    anchor_height: int
    anchor_hash: bytes
    anchor_trusted: bool  # the auditor gave the anchor's hash, and it matched
    top_height: int
    records: tuple[RecordResult, ...]
    bounds: tuple[BoundResult | None, BoundResult | None] = (None, None)  # below, above

    @property
    def all_verified(self) -> bool:
        return not self.failures and not self.missing

    @property
    def failures(self) -> tuple[str, ...]:
        """The location of each record and boundary witness that did not verify."""
        checked = [*self.records, *(bound for bound in self.bounds if bound is not None)]
        return tuple(item.location for item in checked if not item.verified)

    @property
    def complete_heights(self) -> tuple[int, int | None] | None:
        """(first, last) heights every call of which the bundle holds, verified; `last` None
        when no later call exists to bound it (the bundle is complete up to its newest call).
        None unless every record verified, with no gap, and the lower end is witnessed (or the
        lowest record is the app's first call, seq 0). Between the witnessed calls seq b and a
        lie exactly the calls of the blocks strictly between theirs, so those heights hold no
        call the bundle leaves out."""
        span = self.span
        if span is None or not self.all_verified:
            return None
        below, above = self.bounds
        if below is not None and below.height is not None:
            first = below.height + 1
        elif span[0] == 0:
            first = 1
        else:
            return None
        return first, None if above is None or above.height is None else above.height - 1

    @property
    def span(self) -> tuple[int, int] | None:
        """(lowest, highest) seq of the verified records: the calls the bundle can be shown
        complete between; None when no record verified."""
        seqs = [record.seq for record in self.records if record.verified]
        return (min(seqs), max(seqs)) if seqs else None

    @property
    def missing(self) -> tuple[tuple[int, int], ...]:
        """The runs (first, last) of calls inside `span` the bundle holds no record of, as runs
        so that a bundle naming far-apart seqs costs its records' count, not the distance.
        Call seqs are consecutive and a call's block is never below an earlier call's, so a
        call between two verified calls was made between their blocks: inside any height range
        both are in, so the export left it out (docs/audit.md, "Completeness")."""
        span = self.span
        if span is None:
            return ()
        held = sorted({record.seq for record in self.records if span[0] <= record.seq <= span[1]})
        return tuple((below + 1, above - 1) for below, above in pairwise(held) if above - below > 1)


@dataclass(frozen=True, slots=True)
class BoundResult:
    """A boundary witness: the call just below (above) the records, in a verified block."""

    seq: int
    verified: bool
    height: int | None = None
    reason: str = ""
    location: str = ""
    detail: str = ""


class _Fault(Exception):
    """One record's failure, inside `_check_record` only; `location` is a field of the record,
    or of the bundle when `of_bundle`."""

    def __init__(self, location: str, reason: str, detail: str, of_bundle: bool = False) -> None:
        super().__init__(detail)
        self.location = location
        self.of_bundle = of_bundle
        self.reason = reason
        self.detail = detail


def verify(data: bytes, trust_hash: bytes | None = None) -> AuditReport:
    """Check a bundle offline. Raises BundleRefused when nothing in it can be trusted;
    otherwise reports each record, verified or not."""
    bundle = AuditBundle.decode(data)
    source = _BundleSource(bundle)
    anchor, top = _verify_chain(bundle, source, trust_hash)
    headers = _linked_headers(bundle, top)
    unused = source.unused()
    if unused:
        raise BundleRefused(
            "unused_data", unused, "the bundle holds a light block no verification reads"
        )
    results = tuple(
        _check(bundle, headers, index, record) for index, record in enumerate(bundle.records)
    )
    seqs = [record.seq for record in bundle.records]
    below = _check_bound(bundle, headers, 0, min(seqs, default=0) - 1)
    above = _check_bound(bundle, headers, 1, max(seqs, default=-1) + 1)
    return AuditReport(
        bundle.chain_id,
        bundle.app_id,
        anchor.height,
        anchor.hash(),
        trust_hash is not None,
        top.height,
        results,
        (below, above),
    )


# --- the header chain ---------------------------------------------------------------------


class _BundleSource:
    """The light client's source over the bundle's light blocks; remembers what it served."""

    name = "bundle"

    def __init__(self, bundle: AuditBundle) -> None:
        self._index: dict[int, int] = {}
        for index, block in enumerate(bundle.light_blocks):
            if block.height in self._index:
                raise BundleRefused(
                    "malformed", f"light_blocks[{index}]", f"a second block of {block.height}"
                )
            self._index[block.height] = index
        self._blocks = bundle.light_blocks
        self.served: set[int] = set()
        self.last = -1

    def light_block(self, height: int | None) -> LightBlock:
        if height is None or height not in self._index:
            raise Rejected(
                Rejection.HEADER_WITHHELD, f"the bundle holds no light block of height {height}"
            )
        self.last = self._index[height]
        self.served.add(self.last)
        return self._blocks[self.last]

    def header(self, height: int) -> BlockHeader:
        return self.light_block(height).header

    def unused(self) -> str:
        left = sorted(set(range(len(self._blocks))) - self.served)
        return f"light_blocks[{left[0]}]" if left else ""

    def tx_proof(self, tx_hash: bytes) -> proofs.TxProof:
        raise Rejected(Rejection.NOT_FOUND, "a bundle answers no questions")

    def account_proof(self, address: Address, height: int | None) -> proofs.StateProof:
        raise Rejected(Rejection.NOT_FOUND, "a bundle answers no questions")

    def receipt_proof(self, receipt_hash: bytes) -> proofs.NotarisedProof:
        raise Rejected(Rejection.NOT_FOUND, "a bundle answers no questions")

    def submit_evidence(self, evidence: object) -> str:
        return "a bundle takes no evidence"


def _verify_chain(
    bundle: AuditBundle, source: _BundleSource, trust_hash: bytes | None
) -> tuple[LightBlock, LightBlock]:
    """(the anchor, the newest light block), the second verified from the first."""
    if not bundle.light_blocks:
        raise BundleRefused("malformed", "light_blocks", "the bundle holds no light block")
    top = max(bundle.light_blocks, key=lambda block: block.height)
    try:
        anchor = source.light_block(bundle.anchor_height)
        client = LightClient.initialise(
            Verifier(bundle.chain_id),
            bundle.anchor_height,
            anchor.hash() if trust_hash is None else trust_hash,
            source,
        )
        # "Now" is the newest header's time: the bundle is verified as of its export.
        client.sync(top.header.timestamp_ms, top.height)
    except Rejected as rejected:
        raise _chain_refused(bundle, rejected, source.last) from None
    return anchor, top


def _chain_refused(bundle: AuditBundle, rejected: Rejected, index: int) -> BundleRefused:
    chains = {block.header.chain_id for block in bundle.light_blocks}
    if rejected.reason is Rejection.WRONG_CHAIN and bundle.chain_id not in chains:
        location = "chain_id"  # no header names it: the bundle's own field is the odd one
    elif index < 0:
        location = "anchor_height"
    else:
        location = f"light_blocks[{index}].{_LIGHT_FIELDS.get(rejected.reason, 'header')}"
    return BundleRefused(rejected.reason.value, location, rejected.detail)


def _linked_headers(bundle: AuditBundle, top: LightBlock) -> dict[int, BlockHeader]:
    """The verified headers: the newest, and below it the bundle's headers, each the parent of
    the one above (so an altered header breaks the chain, used by a record or not)."""
    verified = {top.height: top.header}
    child = top.header
    for index in range(len(bundle.headers) - 1, -1, -1):
        header = bundle.headers[index]
        if header.height != child.height - 1 or header.hash() != child.previous_hash:
            raise BundleRefused(
                Rejection.NOT_LINKED.value,
                f"headers[{index}]",
                f"header {header.height} is not the parent of verified header {child.height}",
            )
        verified[header.height] = header
        child = header
    return verified


# --- the records ----------------------------------------------------------------------------


def _check(
    bundle: AuditBundle, headers: dict[int, BlockHeader], index: int, record: Record
) -> RecordResult:
    try:
        height = _check_record(bundle, headers, record)
    except _Fault as fault:
        location = fault.location if fault.of_bundle else f"records[{index}].{fault.location}"
        return RecordResult(index, record.seq, False, None, fault.reason, location, fault.detail)
    return RecordResult(index, record.seq, True, height)


def _check_record(bundle: AuditBundle, headers: dict[int, BlockHeader], record: Record) -> int:
    """The height of the verified call's block, or raises _Fault."""
    receipt = _field("receipt", lambda: ExecutionReceipt.from_wire(decode(record.receipt)))
    notarised = _field("notarised_proof", lambda: _notarised(record.notarised))
    header = _header(headers, notarised.state.height, "notarised_proof.state.height")
    try:
        logblock = proofs.verify_notarised(header, notarised)
    except Rejected as rejected:
        raise _Fault("notarised_proof", rejected.reason.value, rejected.detail) from None
    if notarised.receipt_hash != receipt.hash():
        raise _Fault(
            "receipt",
            "not_notarised",
            f"the receipt hashes to {receipt.hash().hex()}, its LogBlock leaf names "
            f"{notarised.receipt_hash.hex()}",
        )
    leaf = logblock.leaves[notarised.inclusion.index]
    if logblock.app_id != bundle.app_id:
        # The LogBlock is the chain's: the bundle's own field is the one that disagrees.
        raise _Fault(
            "app_id", "other_app", "the receipt is notarised for another app", of_bundle=True
        )
    if leaf.call_seq != record.seq:
        raise _Fault("seq", "wrong_seq", f"the LogBlock leaf is call {leaf.call_seq}")
    try:
        receipt.verify_signature()
    except VerificationError as error:
        raise _Fault("receipt", "executor_signature", str(error)) from None
    request = receipt.request
    if request is None:
        raise _Fault(
            "receipt",
            "no_client_signature",
            "a version 1 receipt: notarised and signed by its executor, but it holds no "
            "client signature to check the request against",
        )
    if record.tx_proof is None:
        raise _Fault("tx_proof", "missing", "the client's transaction is not in the record")
    tx_proof = _field("tx_proof", lambda: _tx_proof(record.tx_proof))
    tx = _field("tx_proof.tx", lambda: Transaction.decode(tx_proof.tx))
    _check_request(receipt, request, tx)
    return _made_call(bundle, headers, tx_proof, request.tx_hash, record.seq)


def _made_call(
    bundle: AuditBundle,
    headers: dict[int, BlockHeader],
    tx_proof: proofs.TxProof,
    tx_hash: bytes,
    seq: int,
) -> int:
    """The height of the verified block in which transaction `tx_hash` made call `seq`."""
    header = _header(headers, tx_proof.height, "tx_proof.height")
    try:
        _, tx_receipt = proofs.verify_tx(header, tx_hash, tx_proof)
    except Rejected as rejected:
        raise _Fault("tx_proof", rejected.reason.value, rejected.detail) from None
    if tx_receipt.code != OK or not _names_call(tx_receipt.events, bundle.app_id, seq):
        raise _Fault("tx_proof.receipt", "not_the_call", f"the transaction did not make call {seq}")
    return tx_proof.height


def _check_bound(
    bundle: AuditBundle, headers: dict[int, BlockHeader], side: int, expected: int
) -> BoundResult | None:
    """Boundary witness `side` (0 below, 1 above): call `expected` was made by a transaction
    in a verified block; None when the bundle holds none."""
    witness = bundle.bounds[side]
    if witness is None:
        return None
    try:
        seq, height = _witnessed(bundle, headers, witness, expected)
    except _Fault as fault:
        location = f"bounds[{side}].{fault.location}" if fault.location else f"bounds[{side}]"
        return BoundResult(expected, False, None, fault.reason, location, fault.detail)
    return BoundResult(seq, True, height)


def _witnessed(
    bundle: AuditBundle, headers: dict[int, BlockHeader], witness: Any, expected: int
) -> tuple[int, int]:
    seq, raw = _field("", lambda: expect_array(witness, "bound", 2))
    if type(seq) is not int or seq != expected:
        raise _Fault("seq", "wrong_seq", f"the call next to the records is {expected}, not {seq}")
    tx_proof = _field("tx_proof", lambda: _tx_proof(raw))
    tx = _field("tx_proof.tx", lambda: Transaction.decode(tx_proof.tx))
    return seq, _made_call(bundle, headers, tx_proof, tx.hash(), seq)


def _check_request(receipt: ExecutionReceipt, request: Request, tx: Transaction) -> None:
    """The transaction is the request the (verified) receipt names, and the client signed it."""
    if (
        tx.hash() != request.tx_hash
        or tx.sender != request.client
        or tx.signature != request.signature
    ):
        raise _Fault(
            "tx_proof.tx", "request_mismatch", "the transaction is not the one the receipt names"
        )
    if not verify_tx_signature(tx):
        raise _Fault("tx_proof.tx", "client_signature", "the client's signature does not verify")
    message = tx.message
    if (
        not isinstance(message, CallApp)
        or message.app_id != receipt.app_id
        or message.function != receipt.function
        or blake3_hash(message.input) != receipt.input_hash
    ):
        raise _Fault("tx_proof.tx", "request_mismatch", "the transaction asks for another call")


def _names_call(events: Any, app_id: bytes, seq: int) -> bool:
    wanted = (("app", app_id), ("seq", seq.to_bytes(8, "big")))
    return any(event.kind == "app_called" and event.attributes == wanted for event in events)


def _header(headers: dict[int, BlockHeader], height: int, location: str) -> BlockHeader:
    if height not in headers:
        raise _Fault(location, "header_missing", f"the bundle verifies no header of {height}")
    return headers[height]


def _field(location: str, build: Any) -> Any:
    try:
        return build()
    except (DecodeError, ConfigError, TypeError, ValueError) as error:
        raise _Fault(location, "malformed", str(error)) from None


# --- wire forms ---------------------------------------------------------------------------


def _items(value: Any, name: str, maximum: int) -> tuple[Any, ...]:
    if not isinstance(value, tuple) or len(value) > maximum:
        raise BundleRefused("malformed", name, f"{name} must be an array of at most {maximum}")
    return value


def _parse(location: str, build: Any) -> Any:
    try:
        return build()
    except (DecodeError, ConfigError) as error:
        raise BundleRefused("malformed", location, str(error)) from None


def _light_block_wire(block: LightBlock) -> list[Any]:
    return [
        block.header.encode(),
        block.certificate.encode(),
        [validator.to_wire() for validator in block.validators.validators],
    ]


def _light_block(value: Any) -> LightBlock:
    header, certificate, members = expect_array(value, "light block", 3)
    validators = []
    for member in _items(members, "validators", 1_024):
        address, power, key, bls_key, vrf_key = expect_array(member, "validator", 5)
        validators.append(
            Validator(
                Address(expect_bytes(address, "address")),
                expect_uint(power, "power"),
                expect_bytes(key, "public_key", 32),
                expect_bytes(bls_key, "bls_public_key", 48),
                expect_bytes(vrf_key, "vrf_public_key", 32),
            )
        )
    return LightBlock(
        BlockHeader.decode(expect_bytes(header, "header")),
        CommitCertificate.decode(expect_bytes(certificate, "certificate")),
        ValidatorSet.of(validators),
    )


def _record(value: Any) -> Record:
    seq, receipt, tx_proof, notarised = expect_array(value, "record", 4)
    return Record(expect_uint(seq, "seq"), expect_bytes(receipt, "receipt"), tx_proof, notarised)


def merkle_wire(path: proofs.MerklePath) -> list[Any]:
    return [path.index, path.size, list(path.path)]


def tx_proof_wire(proof: proofs.TxProof) -> list[Any]:
    return [
        proof.height,
        proof.tx,
        merkle_wire(proof.inclusion),
        proof.receipt,
        merkle_wire(proof.receipt_inclusion),
    ]


def notarised_wire(proof: proofs.NotarisedProof) -> list[Any]:
    state = proof.state
    return [
        proof.receipt_hash,
        merkle_wire(proof.inclusion),
        proof.logblock_key,
        [state.height, state.key, state.value, state.proof],
    ]


def _merkle(value: Any) -> proofs.MerklePath:
    index, size, path = expect_array(value, "merkle path", 3)
    return proofs.MerklePath(
        expect_uint(index, "index"),
        expect_uint(size, "size"),
        tuple(expect_bytes(item, "path", 32) for item in _path_items(path)),
    )


def _path_items(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, tuple) or len(value) > 64:
        raise DecodeError("wrong_type", "a Merkle path is an array of at most 64 hashes")
    return value


def _tx_proof(value: Any) -> proofs.TxProof:
    height, tx, inclusion, receipt, receipt_inclusion = expect_array(value, "tx_proof", 5)
    return proofs.TxProof(
        expect_uint(height, "height"),
        expect_bytes(tx, "tx"),
        _merkle(inclusion),
        expect_bytes(receipt, "receipt"),
        _merkle(receipt_inclusion),
    )


def _notarised(value: Any) -> proofs.NotarisedProof:
    receipt_hash, inclusion, key, state = expect_array(value, "notarised_proof", 4)
    height, state_key, stored, proof = expect_array(state, "state", 4)
    return proofs.NotarisedProof(
        expect_bytes(receipt_hash, "receipt_hash", 32),
        _merkle(inclusion),
        expect_bytes(key, "logblock_key"),
        proofs.StateProof(
            expect_uint(height, "height"),
            expect_bytes(state_key, "key"),
            None if stored is None else expect_bytes(stored, "value"),
            expect_bytes(proof, "proof"),
        ),
    )


# --- locating a broken byte ---------------------------------------------------------------


def locate(data: bytes, offset: int) -> str:
    """The name of the innermost item that starts at or before `offset`, walking the bytes as
    far as they parse: where the strict decoder stopped, the item being read there."""
    found = "bundle"
    for path, start in walk(data):
        if start > offset:
            break
        found = _name(path)
    return found


def walk(data: bytes) -> Iterator[tuple[tuple[int, ...], int]]:
    """(index path, start offset) of every item in order, until the bytes stop parsing."""
    stack: list[list[int]] = []  # per open array: [its index path length, items left]
    path: list[int] = []
    position = 0
    tagged = False  # the next item is a tag's content: the tag's own position in the path
    while position < len(data):
        if stack and not tagged:
            while stack and stack[-1][1] == 0:
                stack.pop()
                path.pop()
            if not stack:
                return
            path[-1] += 1
            stack[-1][1] -= 1
        tagged = False
        yield tuple(path), position
        head = cbor_head(data, position)
        if head is None:
            return
        major, argument, position = head
        if major in (2, 3):
            position += argument
        elif major == 4:
            stack.append([len(path), argument])
            path.append(-1)
        elif major == 5:
            return  # a bundle holds no maps: the walk cannot name anything below one
        elif major == 6:
            tagged = True
            continue
        if not stack and major != 4:
            return


def cbor_head(data: bytes, position: int) -> tuple[int, int, int] | None:
    initial = data[position]
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        return major, info, position + 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None or position + 1 + width > len(data):
        return None
    end = position + 1 + width
    return major, int.from_bytes(data[position + 1 : end], "big"), end


def _name(path: tuple[int, ...]) -> str:
    """`records[3].tx_proof.inclusion` for the index path (8, 3, 2, 2)."""
    text = ""
    pattern: tuple[str, ...] = ()
    keyed = True  # the next index is a position of a named array
    for index in path:
        names = _NAMES.get(pattern) if keyed else None
        if names is not None and index < len(names):
            part = names[index]
            text = f"{text}.{part}" if text else part
            pattern = (*pattern, part)
            keyed = part not in ("light_blocks", "headers", "records")
        else:
            text = f"{text}[{index}]"
            pattern = (*pattern, "*")
            keyed = True
    return text or "bundle"
