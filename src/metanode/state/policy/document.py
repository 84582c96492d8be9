"""A BISO policy document: what an app's data may go through, as its owner (or an authority)
signs it.

Wire form (canonical CBOR, positional, leading version): `[1, app_id(32), number,
classification, allowed_regions, blocked_regions, purposes, data_types, review_data_types,
consent_required, encrypt_in_transit, encrypt_at_rest, retention_days]`. Lists are of names
(`NAME`: lower-case ASCII letters, digits, '-', '_', '.', starting with a letter or digit, at
most `types.constants.region_bytes_max` bytes), strictly increasing (so one set has one
encoding) and at most `policy_list_entries_max` long. An empty `allowed_regions` allows every
region not blocked; an empty `purposes` allows every purpose; `data_types` lists what a call
may carry plainly, `review_data_types` what it may carry under inspection (a Yellow light);
any other data type is refused. `retention_days` is declared, for people and auditors: no
executor deletes app state on a clock (none reads one).

Bad documents are bad input, not bugs: `decode_document` raises `PolicyRefused` with the
result code (errors.py) and a sentence naming the field, which the rule stores in the receipt
and the CLI prints.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto import ed25519
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError, MetanodeError
from metanode.state.policy import errors
from metanode.types import constants as types_constants

document_version = 1
policy_list_entries_max = 32
_FIELDS = 13
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class PolicyRefused(MetanodeError):
    """A policy document or registration the chain refuses: `code` is its result code."""

    def __init__(self, code: int, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)


class Classification(enum.IntEnum):
    PUBLIC = 1
    INTERNAL = 2
    CONFIDENTIAL = 3
    RESTRICTED = 4


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    app_id: bytes
    number: int  # the policy's version for its app: 1, 2, …
    classification: Classification
    allowed_regions: tuple[str, ...]
    blocked_regions: tuple[str, ...]
    purposes: tuple[str, ...]
    data_types: tuple[str, ...]
    review_data_types: tuple[str, ...]
    consent_required: bool
    encrypt_in_transit: bool
    encrypt_at_rest: bool
    retention_days: int

    def to_wire(self) -> list[Any]:
        return [
            document_version,
            self.app_id,
            self.number,
            int(self.classification),
            list(self.allowed_regions),
            list(self.blocked_regions),
            list(self.purposes),
            list(self.data_types),
            list(self.review_data_types),
            self.consent_required,
            self.encrypt_in_transit,
            self.encrypt_at_rest,
            self.retention_days,
        ]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    @property
    def names_regions(self) -> bool:
        return bool(self.allowed_regions or self.blocked_regions)

    def allows_region(self, region: str | None) -> bool:
        """Whether an executor (or a request) in `region` may handle the app's data."""
        if not self.names_regions:
            return True
        if region is None or region in self.blocked_regions:
            return False
        return not self.allowed_regions or region in self.allowed_regions


def signing_message(document: bytes) -> bytes:
    return tagged_hash(tags.POLICY, document)


def sign(key: ed25519.PrivateKey, document: bytes) -> bytes:
    return key.sign(signing_message(document))


def check_signature(document: bytes, signer: bytes, signature: bytes) -> None:
    if not ed25519.is_valid(signer, signing_message(document), signature):
        raise PolicyRefused(
            errors.BAD_SIGNATURE, "the signature is not the signer's over this policy document"
        )


def valid_name(text: str) -> bool:
    return (
        len(text.encode("utf-8")) <= types_constants.region_bytes_max
        and NAME.fullmatch(text) is not None
    )


def _malformed(detail: str) -> PolicyRefused:
    return PolicyRefused(errors.DOCUMENT_MALFORMED, f"policy document: {detail}")


def _uint(value: Any, field: str) -> int:
    if type(value) is not int or value < 0 or value > 2**64 - 1:
        raise _malformed(f"{field} must be an unsigned integer")
    return value


def _bool(value: Any, field: str) -> bool:
    if type(value) is not bool:
        raise _malformed(f"{field} must be true or false")
    return value


def _names(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, tuple) or not all(type(item) is str for item in value):
        raise _malformed(f"{field} must be a list of names")
    if len(value) > policy_list_entries_max:
        raise _malformed(f"{field} holds {len(value)} names, at most {policy_list_entries_max}")
    for item in value:
        if not valid_name(item):
            raise PolicyRefused(
                errors.NAME_INVALID,
                f"policy document: {field} holds {item!r}: a name is lower-case letters, digits,"
                f" '-', '_' or '.', at most {types_constants.region_bytes_max} bytes",
            )
    if list(value) != sorted(set(value)):
        raise _malformed(f"{field} must be strictly increasing (sorted, no repeats)")
    return value


def decode_document(data: bytes) -> PolicyDocument:
    """The document `data` encodes; raises PolicyRefused naming what is wrong."""
    try:
        value = decode(data)
    except DecodeError as error:
        raise _malformed(f"not canonical CBOR ({error})") from None
    if not isinstance(value, tuple) or not value:
        raise _malformed("it must be a non-empty array")
    if value[0] != document_version or type(value[0]) is not int:
        raise PolicyRefused(
            errors.DOCUMENT_VERSION_UNKNOWN,
            f"policy document version {value[0]!r}; this chain knows version {document_version}",
        )
    if len(value) > _FIELDS:
        raise PolicyRefused(
            errors.UNKNOWN_FIELD,
            f"policy document has {len(value) - _FIELDS} field(s) past the {_FIELDS} that"
            f" version {document_version} defines",
        )
    if len(value) < _FIELDS:
        raise _malformed(f"it has {len(value)} fields, version {document_version} has {_FIELDS}")
    _version, app_id, number, classification, *rest = value
    allowed, blocked, purposes, data_types, review, consent, transit, at_rest, days = rest
    if type(app_id) is not bytes or len(app_id) != types_constants.hash_bytes:
        raise _malformed("app_id must be 32 bytes")
    if _uint(classification, "classification") not in set(Classification):
        raise _malformed("classification must be 1 (public) to 4 (restricted)")
    document = PolicyDocument(
        app_id,
        _uint(number, "number"),
        Classification(classification),
        _names(allowed, "allowed_regions"),
        _names(blocked, "blocked_regions"),
        _names(purposes, "purposes"),
        _names(data_types, "data_types"),
        _names(review, "review_data_types"),
        _bool(consent, "consent_required"),
        _bool(transit, "encrypt_in_transit"),
        _bool(at_rest, "encrypt_at_rest"),
        _uint(days, "retention_days"),
    )
    _check_consistent(document)
    return document


def _check_consistent(document: PolicyDocument) -> None:
    both = sorted(set(document.allowed_regions) & set(document.blocked_regions))
    if both:
        raise PolicyRefused(
            errors.CONTRADICTION,
            f"policy document: region(s) {', '.join(both)} both allowed and blocked",
        )
    twice = sorted(set(document.data_types) & set(document.review_data_types))
    if twice:
        raise PolicyRefused(
            errors.CONTRADICTION,
            f"policy document: data type(s) {', '.join(twice)} both plain and under review",
        )
