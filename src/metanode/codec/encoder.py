"""Deterministic CBOR encoding, RFC 8949 §4.2.1 ("core deterministic encoding").

Theory: `cbor2` with `canonical=True` already writes the shortest heads, definite lengths and
the shortest float that keeps the value. It sorts map keys length-first (the older RFC 7049
rule), not bytewise by their encoding as RFC 8949 §4.2.1 requires, so maps are written by our
own hook that sorts keys by their encoded bytes. Consensus objects are positional arrays, so the
hook is rarely on a hot path.

Profiles:
- `Profile.CONSENSUS` (default): integers, byte and text strings, arrays, maps, booleans, null
  and tags from the registry. Floats, unregistered tags and other Python types raise
  `EncodeError`. Integers must fit in 64 bits (major types 0 and 1); the type layer checks
  field ranges when an object is built, so the encoder does not pay for a per-integer check.
- `Profile.DATA`: anything RFC 8949 can carry deterministically (floats, any tag, simple values),
  for documents that are not consensus objects.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import cbor2

from metanode.codec import tags
from metanode.errors import EncodeError


class Profile(enum.Enum):
    CONSENSUS = "consensus"
    DATA = "data"


def _map_encoder(dumps_key: Callable[[Any], bytes]) -> Callable[[cbor2.CBOREncoder, Any], None]:
    """A map hook that writes keys sorted bytewise by their encoding (RFC 8949 §4.2.1)."""

    def encode_map(encoder: cbor2.CBOREncoder, value: Mapping[Any, Any]) -> None:
        items = sorted((dumps_key(key), item) for key, item in value.items())
        for index in range(1, len(items)):
            if items[index][0] == items[index - 1][0]:
                raise EncodeError(f"map has two keys encoded as {items[index][0].hex()}")
        encoder.encode_length(5, len(items))
        for key_bytes, item in items:
            encoder.write(key_bytes)
            encoder.encode(item)

    return encode_map


def _reject_float(_encoder: cbor2.CBOREncoder, value: float) -> None:
    raise EncodeError(
        f"float {value!r} is not allowed in a consensus object; use integer base units"
    )


def _encode_registered_tag(encoder: cbor2.CBOREncoder, value: cbor2.CBORTag) -> None:
    if value.tag not in tags.BY_NUMBER:
        raise EncodeError(
            f"CBOR tag {value.tag} is not in the registry (metanode.codec.tags); register it first"
        )
    encoder.encode_semantic(value.tag, value.value)


def _reject_type(_encoder: cbor2.CBOREncoder, value: object) -> None:
    raise EncodeError(f"{type(value).__name__} has no place in a consensus object")


def _consensus_dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True, encoders=_CONSENSUS_ENCODERS, default=_reject_type)


def _data_dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True, encoders=_DATA_ENCODERS)


# Types cbor2 would write through a standard tag (dates, decimals, …): not consensus data.
_NON_CONSENSUS_TYPES = (
    set, frozenset, complex, datetime.datetime, datetime.date, decimal.Decimal,
    fractions.Fraction, uuid.UUID, re.Pattern, ipaddress.IPv4Address, ipaddress.IPv6Address,
    ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv4Interface,
    ipaddress.IPv6Interface, cbor2.CBORSimpleValue, type(cbor2.undefined),
)  # fmt: skip
_CONSENSUS_ENCODERS: dict[type, Any] = {
    dict: _map_encoder(_consensus_dumps),
    cbor2.frozendict: _map_encoder(_consensus_dumps),
    float: _reject_float,
    cbor2.CBORTag: _encode_registered_tag,
    **{kind: _reject_type for kind in _NON_CONSENSUS_TYPES},
}
_DATA_ENCODERS: dict[type, Any] = {
    dict: _map_encoder(_data_dumps),
    cbor2.frozendict: _map_encoder(_data_dumps),
}


def encode(value: Any, *, profile: Profile = Profile.CONSENSUS) -> bytes:
    """The deterministic encoding of `value`; raises `EncodeError` for what has none."""
    try:
        if profile is Profile.CONSENSUS:
            return _consensus_dumps(value)
        return _data_dumps(value)
    except EncodeError:
        raise
    except (cbor2.CBOREncodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise EncodeError(f"cannot encode {type(value).__name__}: {exc}") from exc
