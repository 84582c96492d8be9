"""policy queries: read-only."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.policy.document import PolicyDocument
from metanode.state.policy.records import (
    SignedPolicy,
    contained_since,
    current_version,
    read_policy,
    read_region,
)
from metanode.state.view import StateReader
from metanode.types import Address


@dataclass(frozen=True, slots=True)
class Policy:
    version: int
    signed: SignedPolicy
    document: PolicyDocument


def policy(reader: StateReader, app_id: bytes, version: int = 0) -> Policy | None:
    """Version `version` of the app's policy (0: the current one); None if there is none."""
    number = version or current_version(reader, app_id)
    signed = read_policy(reader, app_id, number) if number else None
    return None if signed is None else Policy(number, signed, signed.decoded())


def region(reader: StateReader, address: Address) -> str | None:
    return read_region(reader, address)


def contained(reader: StateReader, app_id: bytes) -> int | None:
    """The height at which governance contained the app; None while it is not contained."""
    return contained_since(reader, app_id)


def may_execute(reader: StateReader, app_id: bytes, address: Address) -> bool:
    """Whether `address` may be drawn to execute the app's calls: its declared region is one
    the app's current policy allows (every node may, for an app whose policy names none)."""
    current = policy(reader, app_id)
    if current is None or not current.document.names_regions:
        return True
    return current.document.allows_region(region(reader, address))
