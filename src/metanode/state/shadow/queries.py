"""shadow queries: read-only. `acting` is the one rule of acting-as: the gateway applies it
before it passes on a call a service makes for a user, and a shadow receipt's verifier applies
it at the call's height."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.state.codes import OK
from metanode.state.shadow import errors, keys
from metanode.state.shadow.records import Grant, Shadow, decode_grant, read_grant, read_shadow
from metanode.state.view import StateReader
from metanode.types import Address


def shadow(reader: StateReader, domain: str) -> Shadow | None:
    return read_shadow(reader, domain)


def grant(reader: StateReader, user: Address, domain: str) -> Grant | None:
    return read_grant(reader, user, domain)


def grants_of(reader: StateReader, user: Address) -> Iterator[tuple[bytes, Grant]]:
    """The user's grants, by shadow id (bytewise)."""
    prefix = keys.GRANTS + user.raw
    for key, value in reader.scan(prefix):
        yield key[len(prefix) :], decode_grant(value, key)


def acting(
    reader: StateReader, domain: str, user: Address, app_id: bytes, function: str, height: int
) -> int:
    """OK when the shadow of `domain` may call `function` of `app_id` as `user` in a block of
    `height`; else the code that says why not (a revoked grant is an unknown one)."""
    if read_shadow(reader, domain) is None:
        return errors.SHADOW_UNKNOWN
    found = read_grant(reader, user, domain)
    if found is None:
        return errors.GRANT_UNKNOWN
    if height >= found.expiry_height:
        return errors.GRANT_EXPIRED
    if not found.covers(app_id, function):
        return errors.OUT_OF_SCOPE
    return OK
