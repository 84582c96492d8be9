"""shadow's stored records: shadows by id, and grants by (user, shadow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.state.shadow import keys
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, ShadowScope


@dataclass(frozen=True, slots=True)
class Shadow:
    domain: str
    owner: Address
    service_key: bytes  # Ed25519: signs the service's requests and shadow receipts
    encryption_key: bytes  # X25519: payloads for the service are sealed to it
    registered_height: int

    def to_wire(self) -> list[Any]:
        return [
            self.domain,
            self.owner.raw,
            self.service_key,
            self.encryption_key,
            self.registered_height,
        ]


@dataclass(frozen=True, slots=True)
class Grant:
    scopes: tuple[ShadowScope, ...]
    expiry_height: int  # the first height at which the grant no longer holds
    granted_height: int

    def to_wire(self) -> list[Any]:
        return [[scope.to_wire() for scope in self.scopes], self.expiry_height, self.granted_height]

    def covers(self, app_id: bytes, function: str) -> bool:
        return any(
            scope.app_id == app_id and (not scope.functions or function in scope.functions)
            for scope in self.scopes
        )


def read_shadow(reader: StateReader, domain: str) -> Shadow | None:
    key = keys.shadow(domain)
    data = reader.get(key)
    if data is None:
        return None
    stored, owner, service_key, encryption_key, height = decode_array(data, key, 5)
    return Shadow(stored, Address(owner), service_key, encryption_key, height)


def write_shadow(writer: Overlay, shadow: Shadow) -> None:
    writer.put(keys.shadow(shadow.domain), encode_value(shadow.to_wire()))


def read_grant(reader: StateReader, user: Address, domain: str) -> Grant | None:
    key = keys.grant(user, domain)
    data = reader.get(key)
    return None if data is None else decode_grant(data, key)


def decode_grant(data: bytes, key: bytes) -> Grant:
    scopes, expiry_height, granted_height = decode_array(data, key, 3)
    return Grant(
        tuple(ShadowScope.from_wire(scope, "grant.scope") for scope in scopes),
        expiry_height,
        granted_height,
    )


def write_grant(writer: Overlay, user: Address, domain: str, grant: Grant) -> None:
    writer.put(keys.grant(user, domain), encode_value(grant.to_wire()))


def delete_grant(writer: Overlay, user: Address, domain: str) -> None:
    writer.delete(keys.grant(user, domain))
