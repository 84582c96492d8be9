"""apps queries: read-only, in key order (apps by id, versions and calls by number)."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.crypto.hashing import blake3_hash
from metanode.state.apps import keys
from metanode.state.apps.records import (
    AppRecord,
    AppsParams,
    CallRecord,
    VersionRecord,
    decode_app,
    decode_call,
    read_app,
    read_call,
    read_version,
)
from metanode.state.apps.records import read_params as read_apps_params
from metanode.state.storage.queries import stored_module
from metanode.state.view import StateReader


def app(reader: StateReader, app_id: bytes) -> AppRecord | None:
    return read_app(reader, app_id)


def apps(reader: StateReader, after: bytes | None = None) -> Iterator[tuple[bytes, AppRecord]]:
    """Every app, by id (bytewise), from the first one past `after`."""
    for key, value in reader.scan(keys.APP):
        app_id = key[len(keys.APP) :]
        if after is None or app_id > after:
            yield app_id, decode_app(value, key)


def versions(reader: StateReader, app_id: bytes, record: AppRecord) -> list[VersionRecord]:
    """Versions 1..record.versions, in order."""
    found = [read_version(reader, app_id, number) for number in range(1, record.versions + 1)]
    return [version for version in found if version is not None]


def module(reader: StateReader, module_hash: bytes) -> bytes | None:
    """The module's bytes if the chain holds them (deployed inline); see `module_of`."""
    return reader.get(keys.module(module_hash))


def is_stored(reader: StateReader, module_hash: bytes) -> bool:
    """Whether the module is held in relay storage (DeployStoredApp): the chain holds its
    hash and its blob's root, not its bytes."""
    return stored_module(reader, module_hash) is not None


def module_of(reader: StateReader, module_hash: bytes, supplied: bytes = b"") -> bytes | None:
    """The module's bytes: those the chain holds, else `supplied` if it is a stored module and
    they hash to it; else None."""
    held = module(reader, module_hash)
    if held is not None:
        return held
    if is_stored(reader, module_hash) and blake3_hash(supplied) == module_hash:
        return supplied
    return None


def call(reader: StateReader, app_id: bytes, seq: int) -> CallRecord | None:
    return read_call(reader, app_id, seq)


def calls(reader: StateReader, app_id: bytes, start: int = 0) -> Iterator[tuple[int, CallRecord]]:
    """The app's calls from sequence number `start` on, in chain order."""
    prefix = keys.CALL + app_id
    for key, value in reader.scan(prefix):
        seq = int.from_bytes(key[len(prefix) :], "big")
        if seq >= start:
            yield seq, decode_call(value, key)


def params(reader: StateReader) -> AppsParams:
    return read_apps_params(reader)
