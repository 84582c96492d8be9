"""identity genesis: DID records, registered credentials and revocation bits, in and out
(round-trip tested in tests/state/test_identity.py), with their genesis-file form.

Genesis records are trusted as written, as the registry's nodes are: the first authorities'
DIDs can only come from genesis. The loader still checks what keeps state consistent: a DID's
id is its creator key's, every credential's subject exists, no status index serves two
credentials. Import runs after the registry's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.errors import InvariantViolation
from metanode.state import constants
from metanode.state.genesis.fields import (
    boolean,
    enum_member,
    fail,
    hex_bytes,
    listed,
    name,
    table,
    uint,
)
from metanode.state.identity import keys
from metanode.state.identity.messages import check_method, check_services
from metanode.state.identity.queries import dids
from metanode.state.identity.records import (
    ID_BYTES,
    STATUS_LIST_BYTES,
    CredentialRecord,
    DidRecord,
    bit_is_set,
    decode_credential,
    did_id,
    did_of_id,
    did_of_key,
    read_status_list,
    status_list_bits,
    with_bit_set,
    write_credential,
    write_did,
    write_status_list,
)
from metanode.state.registry.records import IdentityLevel
from metanode.state.view import Overlay, StateReader
from metanode.types import Relationship, Service, VerificationMethod
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class GenesisCredential:
    subject: str
    hash: bytes
    record: CredentialRecord


@dataclass(frozen=True, slots=True)
class IdentityGenesis:
    dids: tuple[DidRecord, ...] = ()  # sorted by id; each DID is did_of_key(creator_key)
    credentials: tuple[GenesisCredential, ...] = ()  # sorted by (subject id, hash)
    revoked: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (issuer, set bits), by issuer id

    def to_wire(self) -> list[Any]:
        return [
            [record.to_wire() for record in self.dids],
            [[c.subject, c.hash, c.record.to_wire()] for c in self.credentials],
            [[issuer, list(indexes)] for issuer, indexes in self.revoked],
        ]


def import_genesis(writer: Overlay, genesis: IdentityGenesis) -> None:
    for record in genesis.dids:
        write_did(writer, did_of_key(record.creator_key), record)
    for credential in genesis.credentials:
        subject, issuer = did_id(credential.subject), did_id(credential.record.issuer)
        if subject is None or issuer is None:
            raise InvariantViolation("genesis credential names a DID that is not did:metanode")
        write_credential(writer, subject, credential.hash, credential.record)
        writer.put(keys.status_index(issuer, credential.record.status_index), credential.hash)
    for issuer_did, indexes in genesis.revoked:
        issuer = did_id(issuer_did)
        if issuer is None:
            raise InvariantViolation(f"genesis status list of {issuer_did!r}")
        bits = bytes(STATUS_LIST_BYTES)
        for index in indexes:
            bits = with_bit_set(bits, index)
        write_status_list(writer, issuer, bits)


def export_genesis(reader: StateReader) -> IdentityGenesis:
    credentials = []
    for key, value in reader.scan(keys.CREDENTIAL):
        body = key[len(keys.CREDENTIAL) :]
        subject = did_of_id(body[:ID_BYTES])
        credentials.append(
            GenesisCredential(subject, body[ID_BYTES:], decode_credential(value, key))
        )
    revoked = []
    for key, _value in reader.scan(keys.STATUS_LIST):
        issuer = key[len(keys.STATUS_LIST) :]
        bits = read_status_list(reader, issuer)
        set_bits = tuple(i for i in range(status_list_bits) if bit_is_set(bits, i))
        revoked.append((did_of_id(issuer), set_bits))
    return IdentityGenesis(
        tuple(record for _id, record in dids(reader)), tuple(credentials), tuple(revoked)
    )


# The genesis file's `identity` section.
_RELATIONSHIPS = {
    "authentication": Relationship.AUTHENTICATION,
    "assertionMethod": Relationship.ASSERTION,
}


def to_json(genesis: IdentityGenesis) -> dict[str, Any]:
    return {
        "dids": [
            {
                "creator_key": record.creator_key.hex(),
                "controllers": list(record.controllers),
                "methods": [
                    {
                        "fragment": m.fragment,
                        "public_key": m.public_key.hex(),
                        "relationships": [
                            k for k, v in _RELATIONSHIPS.items() if v in m.relationships
                        ],
                    }
                    for m in record.methods
                ],
                "services": [
                    {"fragment": s.fragment, "type": s.type, "endpoint": s.endpoint}
                    for s in record.services
                ],
                "created_ms": record.created_ms,
                "updated_ms": record.updated_ms,
                "version": record.version,
                "deactivated": record.deactivated,
            }
            for record in genesis.dids
        ],
        "credentials": [
            {
                "subject": c.subject,
                "hash": c.hash.hex(),
                "issuer": c.record.issuer,
                "level": name(c.record.level),
                "valid_from_ms": c.record.valid_from_ms,
                "valid_until_ms": c.record.valid_until_ms,
                "status_index": c.record.status_index,
                "registered_height": c.record.registered_height,
            }
            for c in genesis.credentials
        ],
        "revoked": [
            {"issuer": issuer, "indexes": list(indexes)} for issuer, indexes in genesis.revoked
        ],
    }


def _did(value: Any, path: str, known: dict[str, DidRecord]) -> str:
    if did_id(value) is None or value not in known:
        raise fail(path, f"{str(value)[:60]!r} is not a DID of identity.dids")
    return value  # type: ignore[no-any-return]


def _method(value: Any, path: str) -> VerificationMethod:
    item = table(
        value,
        path,
        {"fragment", "public_key", "relationships"},
        {"fragment", "public_key", "relationships"},
    )
    relationships = Relationship(0)
    for entry in listed(item["relationships"], f"{path}.relationships", len(_RELATIONSHIPS)):
        if entry not in _RELATIONSHIPS:
            raise fail(f"{path}.relationships", f"must be of {', '.join(_RELATIONSHIPS)}")
        relationships |= _RELATIONSHIPS[entry]
    fragment = item["fragment"]
    method = VerificationMethod(
        fragment if isinstance(fragment, str) else "",
        hex_bytes(
            item["public_key"], f"{path}.public_key", types_constants.ed25519_public_key_bytes
        ),
        relationships,
    )
    if not check_method(method):
        raise fail(path, "needs a fragment ([A-Za-z0-9_-]{1,32}) and at least one relationship")
    return method


def _service(value: Any, path: str) -> Service:
    item = table(value, path, {"fragment", "type", "endpoint"}, {"fragment", "type", "endpoint"})
    texts = [item[k] if isinstance(item[k], str) else "" for k in ("fragment", "type", "endpoint")]
    service = Service(*texts)
    if (
        not check_services([service])
        or len(service.endpoint) > types_constants.did_service_endpoint_bytes_max
    ):
        raise fail(path, "needs a fragment, a type and an absolute URI endpoint")
    return service


def _record(value: Any, path: str) -> DidRecord:
    fields = {
        "creator_key",
        "controllers",
        "methods",
        "services",
        "created_ms",
        "updated_ms",
        "version",
        "deactivated",
    }
    item = table(value, path, fields, {"creator_key", "methods"})
    methods = tuple(
        _method(m, f"{path}.methods[{i}]")
        for i, m in enumerate(
            listed(item["methods"], f"{path}.methods", types_constants.did_methods_max)
        )
    )
    if not any(Relationship.AUTHENTICATION in m.relationships for m in methods):
        raise fail(f"{path}.methods", "needs an authentication method")
    if len({m.fragment for m in methods}) != len(methods) or len(
        {m.public_key for m in methods}
    ) != len(methods):
        raise fail(f"{path}.methods", "fragments and keys must be distinct")
    services = tuple(
        _service(s, f"{path}.services[{i}]")
        for i, s in enumerate(
            listed(item.get("services", []), f"{path}.services", types_constants.did_services_max)
        )
    )
    if not check_services(services) or {s.fragment for s in services} & {
        m.fragment for m in methods
    }:
        raise fail(f"{path}.services", "fragments must be distinct")
    controllers = listed(
        item.get("controllers", []), f"{path}.controllers", types_constants.did_controllers_max
    )
    if any(did_id(c) is None for c in controllers) or len(set(controllers)) != len(controllers):
        raise fail(f"{path}.controllers", "must be distinct did:metanode DIDs")
    return DidRecord(
        hex_bytes(
            item["creator_key"], f"{path}.creator_key", types_constants.ed25519_public_key_bytes
        ),
        tuple(controllers),
        methods,
        services,
        uint(item.get("created_ms", 0), f"{path}.created_ms"),
        uint(item.get("updated_ms", 0), f"{path}.updated_ms"),
        uint(item.get("version", 1), f"{path}.version"),
        boolean(item.get("deactivated", False), f"{path}.deactivated"),
    )


def from_json(value: Any) -> IdentityGenesis:
    section = table(value, "identity", {"dids", "credentials", "revoked"}, set())
    known: dict[str, DidRecord] = {}
    for index, entry in enumerate(
        listed(section.get("dids", []), "identity.dids", constants.genesis_accounts_max)
    ):
        record = _record(entry, f"identity.dids[{index}]")
        did = did_of_key(record.creator_key)
        if did in known:
            raise fail(f"identity.dids[{index}].creator_key", "the same DID appears twice")
        known[did] = record
    for did, record in known.items():
        for controller in record.controllers:
            _did(controller, f"identity.dids ({did}).controllers", known)
    credentials: dict[tuple[bytes, bytes], GenesisCredential] = {}
    indexes: set[tuple[str, int]] = set()
    fields = {
        "subject",
        "hash",
        "issuer",
        "level",
        "valid_from_ms",
        "valid_until_ms",
        "status_index",
        "registered_height",
    }
    for index, entry in enumerate(
        listed(
            section.get("credentials", []), "identity.credentials", constants.genesis_accounts_max
        )
    ):
        path = f"identity.credentials[{index}]"
        item = table(entry, path, fields, fields - {"registered_height"})
        subject = _did(item["subject"], f"{path}.subject", known)
        issuer = _did(item["issuer"], f"{path}.issuer", known)
        level = enum_member(IdentityLevel, item["level"], f"{path}.level")
        status_index = uint(item["status_index"], f"{path}.status_index", status_list_bits - 1)
        if level is IdentityLevel.NONE or (issuer, status_index) in indexes:
            raise fail(path, "a credential has a level above none and a status index of its own")
        indexes.add((issuer, status_index))
        digest = hex_bytes(item["hash"], f"{path}.hash", types_constants.hash_bytes)
        record = CredentialRecord(
            issuer,
            level,
            uint(item["valid_from_ms"], f"{path}.valid_from_ms"),
            uint(item["valid_until_ms"], f"{path}.valid_until_ms"),
            status_index,
            uint(item.get("registered_height", 0), f"{path}.registered_height"),
        )
        credentials[did_id(subject), digest] = GenesisCredential(subject, digest, record)  # type: ignore[index]
    if any(
        sum(1 for s, _h in credentials if s == subject) > constants.credentials_per_subject_max
        for subject, _ in credentials
    ):
        raise fail(
            "identity.credentials", f"at most {constants.credentials_per_subject_max} per subject"
        )
    revoked: dict[bytes, tuple[str, tuple[int, ...]]] = {}
    for index, entry in enumerate(
        listed(section.get("revoked", []), "identity.revoked", constants.genesis_accounts_max)
    ):
        path = f"identity.revoked[{index}]"
        item = table(entry, path, {"issuer", "indexes"}, {"issuer", "indexes"})
        issuer = _did(item["issuer"], f"{path}.issuer", known)
        bits = sorted(
            {
                uint(i, f"{path}.indexes[]", status_list_bits - 1)
                for i in listed(item["indexes"], f"{path}.indexes", status_list_bits)
            }
        )
        if did_id(issuer) in revoked or not bits:
            raise fail(path, "one entry per issuer, with at least one index")
        revoked[did_id(issuer)] = (issuer, tuple(bits))  # type: ignore[index]
    return IdentityGenesis(
        tuple(known[did] for did in sorted(known, key=did_id)),  # type: ignore[arg-type]
        tuple(credentials[key] for key in sorted(credentials)),
        tuple(revoked[key] for key in sorted(revoked)),
    )
