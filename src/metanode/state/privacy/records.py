"""privacy's stored records and the values a proof is checked against.

An attestation is what the chain keeps of an accepted proof: which issuer's credential, the
level and birth-date bounds it proved, and when. It names the account that sent the proof and
nothing of the credential or the holder's DID. Records are positional CBOR arrays with a
leading version (1); a stored value of another shape is a bug (`InvariantViolation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from metanode.codec import encode, tags
from metanode.crypto import zk
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError, InvariantViolation, check
from metanode.state import constants
from metanode.state.identity.records import bit_is_set
from metanode.state.privacy import keys
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address

RECORD_VERSION = 1


@dataclass(frozen=True, slots=True)
class Attestation:
    issuer: str
    level_min: int
    born_by: int  # YYYYMMDD; 0: the proof said nothing of age
    height: int
    time_ms: int

    def to_wire(self) -> list[object]:
        return [
            RECORD_VERSION,
            self.issuer,
            self.level_min,
            self.born_by,
            self.height,
            self.time_ms,
        ]


def _uint(value: object, key: bytes) -> int:
    check(type(value) is int and 0 <= value <= constants.uint64_max, f"{key.hex()}: not a uint")
    return value  # type: ignore[return-value]


def read_attestation(reader: StateReader, address: Address) -> Attestation | None:
    key = keys.attestation(address.raw)
    data = reader.get(key)
    if data is None:
        return None
    version, issuer, level_min, born_by, height, time_ms = decode_array(data, key, 6)
    check(version == RECORD_VERSION and type(issuer) is str, f"attestation at {key.hex()}")
    return Attestation(
        issuer,  # type: ignore[arg-type]
        _uint(level_min, key),
        _uint(born_by, key),
        _uint(height, key),
        _uint(time_ms, key),
    )


def write_attestation(writer: Overlay, address: Address, record: Attestation) -> None:
    writer.put(keys.attestation(address.raw), encode_value(record.to_wire()))


def proof_nonce(chain_id: str, sender: Address, tx_nonce: int) -> int:
    """The nonce a proof sent by `sender` in its transaction `tx_nonce` must answer: a proof
    serves that one transaction, and another account cannot take it over."""
    return zk.nonce_of(tagged_hash(tags.ZK_NONCE, encode([chain_id, sender.raw, tx_nonce])))


def born_by(time_ms: int, age_min: int) -> int:
    """The latest birth date (YYYYMMDD) of someone `age_min` years old on the block's UTC date;
    0 for no age bound. A birthday of 29 February counts from 1 March in other years, as the
    integer comparison gives."""
    if age_min == 0:
        return 0
    day = datetime.fromtimestamp(time_ms // 1000, UTC)
    return (day.year - age_min) * 10_000 + day.month * 100 + day.day


def read_definitions(reader: StateReader, issuer: str, issuer_id: bytes) -> zk.Definitions | None:
    data = reader.get(keys.definitions(issuer_id))
    if data is None:
        return None
    try:
        return zk.parse_definitions(data, issuer)
    except DecodeError as error:
        message = f"stored definitions of {issuer} do not parse: {error}"
        raise InvariantViolation(message) from None


def read_status_list(reader: StateReader, issuer: str, issuer_id: bytes) -> zk.StatusList:
    data = reader.get(keys.status_list(issuer_id))
    check(data is not None, f"{issuer} has definitions but no status list")
    try:
        return zk.parse_status_list(data, issuer)  # type: ignore[arg-type]
    except DecodeError as error:
        raise InvariantViolation(
            f"stored status list of {issuer} does not parse: {error}"
        ) from None


def lags(identity_bits: bytes, status: zk.StatusList) -> bool:
    """Whether the issuer revoked, on its W3C status list (state/identity), an index that its
    AnonCreds list still holds valid: the two share indexes (crypto/zk.py)."""
    return any(
        bit_is_set(identity_bits, index) and not revoked
        for index, revoked in enumerate(status.revoked)
    )
