"""The wire: length-prefixed deterministic CBOR frames, `[kind, …fields]`.

Rules: a frame is a 4-byte big-endian length and that many bytes of canonical CBOR; a length
over `frame_bytes_max` is refused before anything is read; a body that fails strict decoding or
has the wrong shape is a `DecodeError` naming the kind and the field. Payloads that a higher
layer decodes (consensus messages, transactions, blocks) travel as byte strings, so each is
decoded once, by its owner, from the bytes that arrived.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import constants as types_constants

from . import constants

_HASH_BYTES = types_constants.hash_bytes
_BLS_SIGNATURE_BYTES = types_constants.bls_signature_bytes


class Kind(enum.IntEnum):
    STATUS = 1  # [height]: the sender's committed height
    CONSENSUS = 2  # [message]: one encoded consensus message
    TXS = 3  # [[tx, …]]: a batch of encoded transactions
    GET_BLOCK = 4  # [height]
    BLOCK = 5  # [height, block, certificate]
    NO_BLOCK = 6  # [height]: the sender does not hold it
    PEER = 7  # [certificate]: a registered node's TLS certificate (PEM), to admit it, or a
    # peer's rotated node key (message 43), to trust it
    RECEIPTS = 8  # [[[app_id, seq, receipt, output_bytes, state_bytes], …]]: an executor's
    SHARE = 9  # [app_id, first_seq, logblock_hash, signature]: a notary's BLS share of a LogBlock
    WANT = 10  # [what, app_id, first_seq, last_seq]: ask executors for an app's state or receipts
    APP_STATE = 11  # [app_id, seq, receipt, index, pages, count, [[key, value], …], proof]
    EVIDENCE = 12  # [app_id, seq, evidence]: an executor's receipt of a call with its witness
    GET_SNAPSHOT = 15  # [height, index]: a state snapshot's manifest (0) or chunk index - 1
    SNAPSHOT = 16  # [height, index, bytes]: the part asked for, empty if not held
    INCLUSION = 17  # [inclusion_list]: a validator's signed inclusion list (types/inclusion.py)
    HYBRID_OFFER = 18  # [x25519_key, mlkem_key]: the dialler's hybrid link keys (hybrid.py)
    HYBRID_KEYS = 19  # [x25519_key, mlkem_ciphertext, confirmation, mldsa_signature]: the answer
    GET_TXS = 20  # [height, round, [index, …]]: a compact proposal's transactions the asker lacks
    TXS_FOR = 21  # [height, round, [tx, …]]: those of them the sender holds (node/compact.py)
    GET_TXS_BY_HASH = 22  # [[tx_hash, …]]: listed transactions a proposer lacks (inclusion.py)
    TXS_BY_HASH = 23  # [[tx, …]]: those of them the sender holds, in its pool or recent gossip


class Wanted(enum.IntEnum):
    STATE = 0  # the state after the latest call of the range the executor signed: APP_STATE
    RECEIPTS = 1  # the executor's receipts of the range's calls: RECEIPTS
    EVIDENCE = 2  # the executor's receipt and witness of call first_seq: EVIDENCE (the court)


@dataclass(frozen=True, slots=True)
class Status:
    height: int


@dataclass(frozen=True, slots=True)
class Consensus:
    message: bytes


@dataclass(frozen=True, slots=True)
class Txs:
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class HybridOffer:
    """Lengths are checked by `hybrid.py`, which names a missing ML-KEM key a downgrade."""

    x25519_key: bytes
    mlkem_key: bytes


@dataclass(frozen=True, slots=True)
class HybridKeys:
    x25519_key: bytes
    mlkem_ciphertext: bytes
    confirmation: bytes
    signature: bytes  # the listener's ML-DSA-65 signature of the transcript


def txs_frames(raws: Sequence[bytes]) -> list[Txs]:
    """`raws` in order, cut into TXS frames of at most `txs_per_frame_max` transactions and
    `txs_frame_bytes_max` bytes of them, so that a batch of LogBlock transactions (up to
    `logblock_tx_bytes_max` each) never makes a frame past `frame_bytes_max`."""
    frames: list[Txs] = []
    batch: list[bytes] = []
    size = 0
    for raw in raws:
        item = len(raw) + _BYTES_HEAD_MAX
        if batch and (
            len(batch) == constants.txs_per_frame_max or size + item > constants.txs_frame_bytes_max
        ):
            frames.append(Txs(tuple(batch)))
            batch, size = [], 0
        batch.append(raw)
        size += item
    if batch:
        frames.append(Txs(tuple(batch)))
    return frames


_BYTES_HEAD_MAX = 5  # a CBOR byte string's head, for lengths below 2**32


@dataclass(frozen=True, slots=True)
class GetBlock:
    height: int


@dataclass(frozen=True, slots=True)
class BlockReply:
    height: int
    block: bytes
    certificate: bytes


@dataclass(frozen=True, slots=True)
class NoBlock:
    height: int


@dataclass(frozen=True, slots=True)
class PeerAnnounce:
    certificate: bytes


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    """One execution receipt (encoded, tagged) and the call it answers: the receipt names its
    module, not the app's place in the chain, so the app id and seq travel beside it, with the
    sizes a LogBlock leaf bills by (the output's, the app state's after the call), which the
    receipt commits to only by hash."""

    app_id: bytes
    seq: int
    receipt: bytes
    output_bytes: int
    state_bytes: int


@dataclass(frozen=True, slots=True)
class Share:
    """A notary committee member's BLS signature over the LogBlock candidate with hash
    `logblock_hash` (the unsigned LogBlock's, `LogBlock.hash()`) for the range of `app_id` that
    starts at `first_seq`; the signer is the authenticated peer that sent it."""

    app_id: bytes
    first_seq: int
    logblock_hash: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Receipts:
    items: tuple[ReceiptItem, ...]


@dataclass(frozen=True, slots=True)
class Want:
    """An executor drawn anew asks for an app's state (the hand-over), a notary for receipts it
    lacks; the calls first_seq..last_seq, inclusive."""

    what: Wanted
    app_id: bytes
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class AppState:
    """Page `index` of `pages` of an app's state after call `seq` (`executor.handover`): some
    of its `count` entries, in tree order, with their multiproof under the `state_root_after`
    of the sender's receipt of that call (encoded, tagged), which every page repeats."""

    app_id: bytes
    seq: int
    receipt: bytes
    index: int
    pages: int
    count: int
    pairs: tuple[tuple[bytes, bytes], ...]
    proof: bytes


@dataclass(frozen=True, slots=True)
class Evidence:
    """The sender's receipt of call `seq` of `app_id` with its witness records, encoded as a
    ruling's evidence (`state.court.ruling.evidence_bytes`), for a court ruling on that call."""

    app_id: bytes
    seq: int
    evidence: bytes


@dataclass(frozen=True, slots=True)
class GetSnapshot:
    """Height 0 asks for the newest snapshot the peer holds (node/snapshots.py)."""

    height: int
    index: int


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    height: int
    index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class GetTxs:
    """Ask for transactions of the proposal of (height, round) by their places in its block."""

    height: int
    round: int
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TxsFor:
    """Transactions of the proposal of (height, round), encoded; the asker matches each to its
    place by hash, so a wrong or foreign one fills nothing."""

    height: int
    round: int
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class GetTxsByHash:
    """Ask for transactions by hash: a proposer, for those its inclusion lists name that it
    holds nowhere, of the lists' authors. By hash and not by place as GET_TXS: they are not
    in any proposal yet. The answer is a TXS_BY_HASH, matched by hash by the asker."""

    tx_hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TxsByHash:
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Inclusion:
    inclusion_list: bytes  # encoded; the node decodes and verifies it


Frame = (
    Status
    | Consensus
    | Txs
    | GetBlock
    | BlockReply
    | NoBlock
    | PeerAnnounce
    | Receipts
    | Share
    | Want
    | AppState
    | Evidence
    | GetSnapshot
    | SnapshotPart
    | Inclusion
    | HybridOffer
    | HybridKeys
    | GetTxs
    | TxsFor
    | GetTxsByHash
    | TxsByHash
)


def encode_frame(frame: Frame) -> bytes:
    fields: list[Any]
    if isinstance(frame, Status):
        fields = [Kind.STATUS, frame.height]
    elif isinstance(frame, Consensus):
        fields = [Kind.CONSENSUS, frame.message]
    elif isinstance(frame, Txs):
        fields = [Kind.TXS, list(frame.txs)]
    elif isinstance(frame, GetBlock):
        fields = [Kind.GET_BLOCK, frame.height]
    elif isinstance(frame, BlockReply):
        fields = [Kind.BLOCK, frame.height, frame.block, frame.certificate]
    elif isinstance(frame, NoBlock):
        fields = [Kind.NO_BLOCK, frame.height]
    elif isinstance(frame, Receipts):
        fields = [
            Kind.RECEIPTS,
            [
                [item.app_id, item.seq, item.receipt, item.output_bytes, item.state_bytes]
                for item in frame.items
            ],
        ]
    elif isinstance(frame, Share):
        fields = [Kind.SHARE, frame.app_id, frame.first_seq, frame.logblock_hash, frame.signature]
    elif isinstance(frame, Want):
        fields = [Kind.WANT, int(frame.what), frame.app_id, frame.first_seq, frame.last_seq]
    elif isinstance(frame, AppState):
        fields = [
            Kind.APP_STATE,
            frame.app_id,
            frame.seq,
            frame.receipt,
            frame.index,
            frame.pages,
            frame.count,
            [[key, value] for key, value in frame.pairs],
            frame.proof,
        ]
    elif isinstance(frame, Evidence):
        fields = [Kind.EVIDENCE, frame.app_id, frame.seq, frame.evidence]
    elif isinstance(frame, GetSnapshot):
        fields = [Kind.GET_SNAPSHOT, frame.height, frame.index]
    elif isinstance(frame, SnapshotPart):
        fields = [Kind.SNAPSHOT, frame.height, frame.index, frame.data]
    elif isinstance(frame, Inclusion):
        fields = [Kind.INCLUSION, frame.inclusion_list]
    elif isinstance(frame, HybridOffer):
        fields = [Kind.HYBRID_OFFER, frame.x25519_key, frame.mlkem_key]
    elif isinstance(frame, HybridKeys):
        fields = [
            Kind.HYBRID_KEYS,
            frame.x25519_key,
            frame.mlkem_ciphertext,
            frame.confirmation,
            frame.signature,
        ]
    elif isinstance(frame, GetTxs):
        fields = [Kind.GET_TXS, frame.height, frame.round, list(frame.indexes)]
    elif isinstance(frame, TxsFor):
        fields = [Kind.TXS_FOR, frame.height, frame.round, list(frame.txs)]
    elif isinstance(frame, GetTxsByHash):
        fields = [Kind.GET_TXS_BY_HASH, list(frame.tx_hashes)]
    elif isinstance(frame, TxsByHash):
        fields = [Kind.TXS_BY_HASH, list(frame.txs)]
    else:
        fields = [Kind.PEER, frame.certificate]
    body = encode([int(fields[0]), *fields[1:]])
    if len(body) > constants.frame_bytes_max:
        raise DecodeError("frame_too_large", f"{len(body)} bytes > {constants.frame_bytes_max}")
    return len(body).to_bytes(constants.length_prefix_bytes, "big") + body


def frame_length(prefix: bytes, overhead: int = 0) -> int:
    """The announced length of a frame, or of a sealed one (`overhead`: its AEAD tag)."""
    length = int.from_bytes(prefix, "big")
    if length > constants.frame_bytes_max + overhead:
        raise DecodeError(
            "frame_too_large",
            f"a peer announced {length} bytes, at most {constants.frame_bytes_max + overhead}",
        )
    if length == 0:
        raise DecodeError("empty_frame", "a frame needs at least a kind")
    return length


def _uint(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise DecodeError("wrong_type", f"{name} must be an unsigned integer")
    return value


def _bytes(value: Any, name: str) -> bytes:
    if type(value) is not bytes:
        raise DecodeError("wrong_type", f"{name} must be a byte string")
    return value


def _fixed(value: Any, name: str, length: int) -> bytes:
    if len(_bytes(value, name)) != length:
        raise DecodeError("wrong_length", f"{name} must be {length} bytes")
    return value  # type: ignore[no-any-return]


_ARITY = {
    Kind.BLOCK: 3,
    Kind.SHARE: 4,
    Kind.WANT: 4,
    Kind.APP_STATE: 8,
    Kind.EVIDENCE: 3,
    Kind.GET_SNAPSHOT: 2,
    Kind.SNAPSHOT: 3,
    Kind.HYBRID_OFFER: 2,
    Kind.HYBRID_KEYS: 4,
    Kind.GET_TXS: 3,
    Kind.TXS_FOR: 3,
}


def decode_frame(body: bytes) -> Frame:
    value = decode(body)
    if type(value) not in (list, tuple) or not value:
        raise DecodeError("wrong_type", "a frame is an array [kind, …]")
    try:
        kind = Kind(_uint(value[0], "frame.kind"))
    except ValueError:
        raise DecodeError("unknown_kind", f"frame kind {value[0]} is not known") from None
    fields = value[1:]
    arity = _ARITY.get(kind, 1)
    if len(fields) != arity:
        raise DecodeError(
            "wrong_length", f"{kind.name} frame has {len(fields)} fields, not {arity}"
        )
    if kind is Kind.STATUS:
        return Status(_uint(fields[0], "status.height"))
    if kind is Kind.CONSENSUS:
        return Consensus(_bytes(fields[0], "consensus.message"))
    if kind is Kind.INCLUSION:
        return Inclusion(_bytes(fields[0], "inclusion.inclusion_list"))
    if kind is Kind.TXS:
        txs = fields[0]
        if type(txs) not in (list, tuple) or len(txs) > constants.txs_per_frame_max:
            raise DecodeError(
                "wrong_type", f"txs must be an array of at most {constants.txs_per_frame_max}"
            )
        return Txs(tuple(_bytes(tx, "txs[]") for tx in txs))
    if kind is Kind.GET_BLOCK:
        return GetBlock(_uint(fields[0], "get_block.height"))
    if kind is Kind.BLOCK:
        return BlockReply(
            _uint(fields[0], "block.height"),
            _bytes(fields[1], "block.block"),
            _bytes(fields[2], "block.certificate"),
        )
    if kind is Kind.PEER:
        certificate = _bytes(fields[0], "peer.certificate")
        if len(certificate) > constants.certificate_bytes_max:
            raise DecodeError(
                "wrong_length", f"peer.certificate is over {constants.certificate_bytes_max} bytes"
            )
        return PeerAnnounce(certificate)
    if kind is Kind.RECEIPTS:
        return Receipts(_receipt_items(fields[0]))
    if kind is Kind.SHARE:
        return Share(
            _fixed(fields[0], "share.app_id", _HASH_BYTES),
            _uint(fields[1], "share.first_seq"),
            _fixed(fields[2], "share.logblock_hash", _HASH_BYTES),
            _fixed(fields[3], "share.signature", _BLS_SIGNATURE_BYTES),
        )
    if kind is Kind.WANT:
        return _want(fields)
    if kind is Kind.APP_STATE:
        return AppState(
            _fixed(fields[0], "app_state.app_id", _HASH_BYTES),
            _uint(fields[1], "app_state.seq"),
            _bytes(fields[2], "app_state.receipt"),
            _uint(fields[3], "app_state.index"),
            _uint(fields[4], "app_state.pages"),
            _uint(fields[5], "app_state.count"),
            _pairs(fields[6]),
            _bytes(fields[7], "app_state.proof"),
        )
    if kind is Kind.EVIDENCE:
        return Evidence(
            _fixed(fields[0], "evidence.app_id", _HASH_BYTES),
            _uint(fields[1], "evidence.seq"),
            _bytes(fields[2], "evidence.evidence"),
        )
    if kind is Kind.GET_SNAPSHOT:
        return GetSnapshot(
            _uint(fields[0], "get_snapshot.height"), _uint(fields[1], "get_snapshot.index")
        )
    if kind is Kind.SNAPSHOT:
        return SnapshotPart(
            _uint(fields[0], "snapshot.height"),
            _uint(fields[1], "snapshot.index"),
            _bytes(fields[2], "snapshot.data"),
        )
    if kind is Kind.HYBRID_OFFER:
        return HybridOffer(
            _bytes(fields[0], "hybrid_offer.x25519_key"),
            _bytes(fields[1], "hybrid_offer.mlkem_key"),
        )
    if kind is Kind.HYBRID_KEYS:
        return HybridKeys(
            _bytes(fields[0], "hybrid_keys.x25519_key"),
            _bytes(fields[1], "hybrid_keys.mlkem_ciphertext"),
            _bytes(fields[2], "hybrid_keys.confirmation"),
            _bytes(fields[3], "hybrid_keys.signature"),
        )
    if kind is Kind.GET_TXS:
        return GetTxs(*_of_proposal(fields, "get_txs", "indexes", _uint))
    if kind is Kind.TXS_FOR:
        return TxsFor(*_of_proposal(fields, "txs_for", "txs", _bytes))
    if kind is Kind.GET_TXS_BY_HASH:
        return GetTxsByHash(_block_txs(fields[0], "get_txs_by_hash.tx_hashes", _hash))
    if kind is Kind.TXS_BY_HASH:
        return TxsByHash(_block_txs(fields[0], "txs_by_hash.txs", _bytes))
    return NoBlock(_uint(fields[0], "no_block.height"))


def _of_proposal(
    fields: Any, frame: str, items: str, item: Callable[[Any, str], Any]
) -> tuple[int, int, tuple[Any, ...]]:
    """`[height, round, [item, …]]` of GET_TXS and TXS_FOR: at most a block's transactions."""
    return (
        _uint(fields[0], f"{frame}.height"),
        _uint(fields[1], f"{frame}.round"),
        _block_txs(fields[2], f"{frame}.{items}", item),
    )


def _block_txs(values: Any, name: str, item: Callable[[Any, str], Any]) -> tuple[Any, ...]:
    """An array of at most a block's transactions (or their places or hashes)."""
    if type(values) not in (list, tuple) or len(values) > types_constants.block_txs_max:
        raise DecodeError(
            "wrong_type", f"{name} must be an array of at most {types_constants.block_txs_max}"
        )
    return tuple(item(value, f"{name}[]") for value in values)


def _hash(value: Any, name: str) -> bytes:
    return _fixed(value, name, _HASH_BYTES)


def _want(fields: Any) -> Want:
    try:
        what = Wanted(_uint(fields[0], "want.what"))
    except ValueError:
        raise DecodeError("unknown_want", f"want.what {fields[0]} is not known") from None
    first, last = _uint(fields[2], "want.first_seq"), _uint(fields[3], "want.last_seq")
    if first > last:
        raise DecodeError("wrong_range", f"want.first_seq {first} is past last_seq {last}")
    return Want(what, _fixed(fields[1], "want.app_id", _HASH_BYTES), first, last)


def _pairs(value: Any) -> tuple[tuple[bytes, bytes], ...]:
    if type(value) not in (list, tuple):
        raise DecodeError("wrong_type", "app_state.pairs must be an array of [key, value]")
    pairs: list[tuple[bytes, bytes]] = []
    for pair in value:
        if type(pair) not in (list, tuple) or len(pair) != 2:
            raise DecodeError("wrong_type", "an app_state pair is [key, value]")
        # Their order (the state tree's) is the hand-over's to check, against the proof.
        pairs.append(
            (_bytes(pair[0], "app_state.pairs[].key"), _bytes(pair[1], "app_state.pairs[].value"))
        )
    return tuple(pairs)


def _receipt_items(value: Any) -> tuple[ReceiptItem, ...]:
    limit = constants.receipts_per_frame_max
    if type(value) not in (list, tuple) or len(value) > limit:
        raise DecodeError("wrong_type", f"receipts must be an array of at most {limit}")
    items = []
    for item in value:
        if type(item) not in (list, tuple) or len(item) != 5:
            raise DecodeError(
                "wrong_type",
                "a receipt item is [app_id, seq, receipt, output_bytes, state_bytes]",
            )
        items.append(
            ReceiptItem(
                _fixed(item[0], "receipts[].app_id", _HASH_BYTES),
                _uint(item[1], "receipts[].seq"),
                _bytes(item[2], "receipts[].receipt"),
                _uint(item[3], "receipts[].output_bytes"),
                _uint(item[4], "receipts[].state_bytes"),
            )
        )
    return tuple(items)
