"""identity messages and their stateless checks (the message types live in `metanode.types`;
their decoders fix key lengths and the bounds on counts and text lengths)."""

from __future__ import annotations

from collections.abc import Iterable

from metanode.state.codes import OK
from metanode.state.identity import errors
from metanode.state.identity.records import FRAGMENT, did_id, status_list_bits
from metanode.types import (
    CreateDid,
    DeactivateDid,
    RegisterCredential,
    RevokeCredential,
    RotateDidKey,
    Service,
    UpdateDid,
    VerificationMethod,
)

MESSAGES = (CreateDid, UpdateDid, RotateDidKey, DeactivateDid, RegisterCredential, RevokeCredential)


def _distinct(items: Iterable[object]) -> bool:
    listed = list(items)
    return len(listed) == len(set(listed))


def check_service(service: Service) -> bool:
    """A fragment; a type of printable ASCII without spaces; an endpoint that is an absolute
    URI (`scheme:rest`, printable ASCII without spaces)."""
    scheme, separator, rest = service.endpoint.partition(":")
    return (
        FRAGMENT.fullmatch(service.fragment) is not None
        and bool(service.type)
        and all(
            text.isascii() and text.isprintable() and " " not in text
            for text in (service.type, service.endpoint)
        )
        and bool(separator and rest)
        and scheme[:1].isalpha()
        and all(c.isalnum() or c in "+-." for c in scheme)
    )


def check_method(method: VerificationMethod) -> bool:
    return FRAGMENT.fullmatch(method.fragment) is not None and method.relationships != 0


def check_services(services: Iterable[Service]) -> bool:
    listed = list(services)
    return all(map(check_service, listed)) and _distinct(s.fragment for s in listed)


def check_create(message: CreateDid) -> int:
    if not all(did_id(c) is not None for c in message.controllers) or not _distinct(
        message.controllers
    ):
        return errors.CONTROLLER_INVALID
    if not check_services(message.services):
        return errors.SERVICE_INVALID
    return OK


def check_update(message: UpdateDid) -> int:
    if did_id(message.did) is None:
        return errors.DID_INVALID
    if not all(map(check_method, message.add_methods)) or not (
        _distinct(m.fragment for m in message.add_methods)
        and _distinct(m.public_key for m in message.add_methods)
        and _distinct(message.remove_methods)
    ):
        return errors.METHOD_INVALID
    if not check_services(message.add_services) or not _distinct(message.remove_services):
        return errors.SERVICE_INVALID
    return OK


def check_rotate(message: RotateDidKey) -> int:
    if did_id(message.did) is None:
        return errors.DID_INVALID
    if FRAGMENT.fullmatch(message.fragment) is None:
        return errors.METHOD_INVALID
    return OK


def check_deactivate(message: DeactivateDid) -> int:
    return OK if did_id(message.did) is not None else errors.DID_INVALID


def check_revoke(message: RevokeCredential) -> int:
    if did_id(message.issuer) is None:
        return errors.DID_INVALID
    if message.index >= status_list_bits:
        return errors.STATUS_INDEX_OUT_OF_RANGE
    return OK
