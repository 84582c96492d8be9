"""Zero-knowledge KYC proofs: Hyperledger AnonCreds (CL signatures, the `anoncreds` library)
in the shape this chain asks for.

An authority (state/identity: an active bank or government node's DID) runs `setup_issuer`
once: it makes the KYC schema (`kycLevel`, `birthDate`), a CL credential definition with
revocation, and a CL_ACCUM revocation registry of `capacity` entries with its tails file. The
public half (`Definitions`) goes on chain with a revocation status list
(state/privacy, PublishZkIssuer); the private half never leaves the authority. There is no
common reference string: a credential definition carries its own key-correctness proof, and
trusting it means trusting its issuer, as with a signature.

A holder keeps a link secret; the authority issues it a credential (`issue`) whose
revocation index is the status index of the holder's registered W3C KYC credential, so
revoking one revokes the other (the chain refuses a status list that lags the W3C list).

A proof answers a presentation request that the verifier builds (`request`): predicates
`kycLevel >= L` and, optionally, `birthDate <= D` (birth dates are YYYYMMDD integers, so the
comparison is the calendar's), non-revocation at the status list's timestamp, and a nonce the
verifier fixes (the chain derives it from the sender and nonce of the transaction, so a proof
serves one transaction only). Proofs are unlinkable: each presentation is fresh randomness
over the same credential, and reveals neither the credential, its index nor the holder's DID.

The library's verifier takes each predicate from the proof rather than from the request (it
accepts a proof of `kycLevel >= 2` against a request for `>= 4`), so `verify` compares the
proof's predicates with the request's first. Verification is deterministic (pure arithmetic on
its inputs); its cost is bounded by the fixed shape of the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metanode.errors import DecodeError, VerificationError

# The library's native bindings cost tens of ms to load: each function that calls it imports
# it, so every CLI start and every importer of the constants and parsers here does not pay.
if TYPE_CHECKING:
    import anoncreds

SCHEMA_NAME = "KycCredential"
SCHEMA_VERSION = "1.0"
LEVEL = "kycLevel"
BIRTH_DATE = "birthDate"
ATTRIBUTES = (LEVEL, BIRTH_DATE)
SIGNATURE_TYPE = "CL"
REGISTRY_TYPE = "CL_ACCUM"
TAG = "kyc"
# The request's referents, fixed so that a proof's shape is known before it is verified.
LEVEL_REFERENT = "level"
AGE_REFERENT = "age"
NONCE_BYTES = 10  # AnonCreds nonces are 80-bit decimal numbers
CHALLENGE_DIGITS_MAX = 78  # 2^256 in decimal


@dataclass(frozen=True, slots=True)
class Ids:
    schema: str
    credential_definition: str
    revocation_registry: str


def ids_of(issuer: str) -> Ids:
    """The identifiers of `issuer`'s KYC objects: URIs under its DID, one set per issuer."""
    base = f"{issuer}/anoncreds/v1"
    return Ids(
        f"{base}/schema/{TAG}", f"{base}/credential-definition/{TAG}", f"{base}/revocation/{TAG}"
    )


@dataclass(frozen=True, slots=True)
class Definitions:
    """An issuer's public KYC material as the chain stores it (JSON text of each object)."""

    issuer: str
    schema: str
    credential_definition: str
    revocation_registry: str
    capacity: int  # entries of the revocation registry

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "schema": json.loads(self.schema),
                "credentialDefinition": json.loads(self.credential_definition),
                "revocationRegistryDefinition": json.loads(self.revocation_registry),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()


def _object(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, dict):
        raise DecodeError("bad_definitions", f"{name} must be a JSON object")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _load(kind: type[anoncreds.bindings.AnoncredsObject], text: str | bytes, what: str) -> Any:
    import anoncreds  # noqa: PLC0415 - its native bindings load only when called (start-up)

    try:
        return kind.load(text)  # type: ignore[attr-defined]
    except anoncreds.AnoncredsError as error:
        raise DecodeError(what, str(error)) from None


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    # ValueError covers integers past Python's digit limit; RecursionError, deep nesting.
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise DecodeError(what, f"not JSON: {str(error)[:80]}") from None
    if not isinstance(document, dict):
        raise DecodeError(what, "must be a JSON object")
    return document


def parse_definitions(data: bytes, issuer: str) -> Definitions:
    """Read an issuer's published definitions; each object must load in the library and carry
    the identifiers `ids_of(issuer)` names, with the KYC schema's attributes."""
    import anoncreds  # noqa: PLC0415 - as in _load

    document = _json(data, "bad_definitions")
    if set(document) != {"schema", "credentialDefinition", "revocationRegistryDefinition"}:
        raise DecodeError(
            "bad_definitions", "want schema, credentialDefinition, revocationRegistryDefinition"
        )
    registry_text = _object(document, "revocationRegistryDefinition")
    registry_object = _load(
        anoncreds.RevocationRegistryDefinition, registry_text, "bad_definitions"
    )
    definitions = Definitions(
        issuer,
        _object(document, "schema"),
        _object(document, "credentialDefinition"),
        registry_text,
        int(registry_object.max_cred_num),
    )
    ids = ids_of(issuer)
    schema = document["schema"]
    if (
        schema.get("issuerId") != issuer
        or schema.get("name") != SCHEMA_NAME
        or not isinstance(schema.get("attrNames"), list)
        or sorted(map(str, schema["attrNames"])) != sorted(ATTRIBUTES)
    ):
        raise DecodeError("bad_definitions", f"schema must be {SCHEMA_NAME} of {issuer}")
    credential_definition = _load(
        anoncreds.CredentialDefinition, definitions.credential_definition, "bad_definitions"
    )
    if (
        credential_definition.issuer_id != issuer
        or credential_definition.schema_id != ids.schema
        or credential_definition.tag != TAG
    ):
        raise DecodeError(
            "bad_definitions", f"credential definition must be {issuer}'s over {ids.schema}"
        )
    registry = document["revocationRegistryDefinition"]
    if (
        registry.get("issuerId") != issuer
        or registry.get("credDefId") != ids.credential_definition
        or registry.get("revocDefType") != REGISTRY_TYPE
    ):
        raise DecodeError(
            "bad_definitions", f"revocation registry must be {issuer}'s, {REGISTRY_TYPE}"
        )
    _load(anoncreds.Schema, definitions.schema, "bad_definitions")
    return definitions


@dataclass(frozen=True, slots=True)
class StatusList:
    """A revocation status list: which indexes are revoked, as of `timestamp` (seconds)."""

    text: str  # its JSON, as the library loads it
    revoked: tuple[bool, ...]
    timestamp: int


def parse_status_list(data: bytes, issuer: str) -> StatusList:
    import anoncreds  # noqa: PLC0415 - as in _load

    document = _json(data, "bad_status_list")
    bits = document.get("revocationList")
    timestamp = document.get("timestamp")
    if (
        document.get("issuerId") != issuer
        or document.get("revRegDefId") != ids_of(issuer).revocation_registry
        or not isinstance(bits, list)
        or not all(bit in (0, 1) and type(bit) is int for bit in bits)
        or type(timestamp) is not int
        or timestamp < 0
    ):
        raise DecodeError(
            "bad_status_list", f"must be a status list of {issuer}'s registry with a timestamp"
        )
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    _load(anoncreds.RevocationStatusList, text, "bad_status_list")
    return StatusList(text, tuple(bool(bit) for bit in bits), timestamp)


@dataclass(frozen=True, slots=True)
class Statement:
    """What a proof claims: a credential of `issuer` with level ≥ `level_min`, and, unless
    `born_by` is 0, a birth date on or before `born_by` (YYYYMMDD)."""

    issuer: str
    level_min: int
    born_by: int

    def predicates(self) -> list[tuple[str, str, str, int]]:
        """(referent, attribute, type, value), sorted by referent."""
        listed = [(LEVEL_REFERENT, LEVEL, ">=", self.level_min)]
        if self.born_by:
            listed.insert(0, (AGE_REFERENT, BIRTH_DATE, "<=", self.born_by))
        return listed


def request(statement: Statement, nonce: int, timestamp: int) -> dict[str, Any]:
    """The presentation request for `statement`, non-revocation at `timestamp`."""
    restriction = [{"cred_def_id": ids_of(statement.issuer).credential_definition}]
    return {
        "nonce": str(nonce),
        "name": "metanode-kyc",
        "version": "1.0",
        "requested_attributes": {},
        "requested_predicates": {
            referent: {"name": name, "p_type": kind, "p_value": value, "restrictions": restriction}
            for referent, name, kind, value in statement.predicates()
        },
        "non_revoked": {"from": timestamp, "to": timestamp},
    }


@dataclass(frozen=True, slots=True)
class Presentation:
    text: bytes
    predicates: list[tuple[str, str, int]]  # (attribute, type, value) as the proof states them
    timestamp: int | None  # of the status list the non-revocation proof is against
    challenge: bytes  # the Fiat-Shamir challenge: names this proof (a replay repeats it)


def parse_presentation(data: bytes) -> Presentation:
    """Read a presentation's shape (one credential, predicates only) without verifying it."""
    document = _json(data, "bad_presentation")
    try:
        (proof,) = document["proof"]["proofs"]
        predicates = [
            (p["predicate"]["attr_name"], p["predicate"]["p_type"], p["predicate"]["value"])
            for p in proof["primary_proof"]["ge_proofs"]
        ]
        digits = document["proof"]["aggregated_proof"]["c_hash"]
        (identifier,) = document["identifiers"]
        timestamp = identifier.get("timestamp")
        revealed = document["requested_proof"]["revealed_attrs"]
        groups = document["requested_proof"].get("revealed_attr_groups")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DecodeError(
            "bad_presentation", "not a one-credential AnonCreds presentation"
        ) from None
    if revealed or groups:
        raise DecodeError("bad_presentation", "a KYC proof reveals no attribute")
    if not all(
        type(name) is str and type(kind) is str and type(value) is int
        for name, kind, value in predicates
    ):
        raise DecodeError("bad_presentation", "a predicate is (text, text, integer)")
    # A bound on the digits before int(): the challenge is a SHA-256 value.
    if not (
        isinstance(digits, str)
        and 0 < len(digits) <= CHALLENGE_DIGITS_MAX
        and digits.isascii()
        and digits.isdigit()
        and int(digits) < 2**256
    ):
        raise DecodeError("bad_presentation", "aggregated_proof.c_hash must be a 256-bit number")
    if timestamp is not None and type(timestamp) is not int:
        raise DecodeError("bad_presentation", "identifiers[0].timestamp must be an integer")
    challenge = int(digits).to_bytes(32, "big")
    return Presentation(bytes(data), predicates, timestamp, challenge)


# How a proof spells a predicate: the library lowercases attribute names without spaces and
# names comparisons by letters.
_PROOF_KINDS = {">=": "GE", "<=": "LE", ">": "GT", "<": "LT"}


def states(presentation: Presentation, statement: Statement) -> bool:
    """The proof's predicates are exactly the statement's."""
    wanted = sorted(
        (name.lower().replace(" ", ""), _PROOF_KINDS[kind], value)
        for _, name, kind, value in statement.predicates()
    )
    return sorted(presentation.predicates) == wanted


def verify(
    presentation: Presentation,
    statement: Statement,
    nonce: int,
    definitions: Definitions,
    status_list: StatusList,
) -> bool:
    """Whether `presentation` proves `statement` for `nonce` against the issuer's definitions
    and its status list (non-revoked at the list's timestamp)."""
    import anoncreds  # noqa: PLC0415 - as in _load

    if not states(presentation, statement) or presentation.timestamp != status_list.timestamp:
        return False
    ids = ids_of(definitions.issuer)
    try:
        return bool(
            anoncreds.Presentation.load(presentation.text).verify(
                request(statement, nonce, status_list.timestamp),
                {ids.schema: definitions.schema},
                {ids.credential_definition: definitions.credential_definition},
                {ids.revocation_registry: definitions.revocation_registry},
                [status_list.text],
            )
        )
    except anoncreds.AnoncredsError:
        return False  # a proof the library cannot even read is simply not a proof


def nonce_of(seed: bytes) -> int:
    """A request nonce from `seed` (a tagged hash the caller makes)."""
    return int.from_bytes(seed[:NONCE_BYTES], "big")


# The issuer's and holder's sides: set-up, issuance, revocation and proving. They run off
# chain (CLI, tests, benches); only the verifier above runs in the state machine.


@dataclass(frozen=True, slots=True)
class IssuerSecrets:
    credential_definition_private: str
    key_correctness_proof: str
    revocation_registry_private: str


def setup_issuer(issuer: str, capacity: int, tails_dir: Path) -> tuple[Definitions, IssuerSecrets]:
    """Make `issuer`'s schema, credential definition and revocation registry (slow: the CL key
    needs two safe primes, seconds to a minute). The tails file lands in `tails_dir`."""
    import anoncreds  # noqa: PLC0415 - as in _load

    ids = ids_of(issuer)
    schema = anoncreds.Schema.create(SCHEMA_NAME, SCHEMA_VERSION, issuer, list(ATTRIBUTES))
    definition, private, key_proof = anoncreds.CredentialDefinition.create(
        ids.schema, schema, issuer, TAG, SIGNATURE_TYPE, support_revocation=True
    )
    tails_dir.mkdir(parents=True, exist_ok=True)
    registry, registry_private = anoncreds.RevocationRegistryDefinition.create(
        ids.credential_definition,
        definition,
        issuer,
        TAG,
        REGISTRY_TYPE,
        capacity,
        tails_dir_path=str(tails_dir),
    )
    definitions = Definitions(
        issuer, schema.to_json(), definition.to_json(), registry.to_json(), capacity
    )
    secrets = IssuerSecrets(private.to_json(), key_proof.to_json(), registry_private.to_json())
    return definitions, secrets


def status_list(
    definitions: Definitions, secrets: IssuerSecrets, revoked: list[int], timestamp: int
) -> bytes:
    """The status list with `revoked` set (every other index issued), stamped `timestamp`."""
    import anoncreds  # noqa: PLC0415 - as in _load

    ids = ids_of(definitions.issuer)
    definition = anoncreds.CredentialDefinition.load(definitions.credential_definition)
    registry = anoncreds.RevocationRegistryDefinition.load(definitions.revocation_registry)
    private = anoncreds.RevocationRegistryDefinitionPrivate.load(
        secrets.revocation_registry_private
    )
    listed = anoncreds.RevocationStatusList.create(
        definition, ids.revocation_registry, registry, private, definitions.issuer, True, timestamp
    )
    if revoked:
        listed = listed.update(definition, registry, private, None, revoked, timestamp)
    return listed.to_json().encode()


def link_secret() -> str:
    import anoncreds  # noqa: PLC0415 - as in _load

    return anoncreds.create_link_secret()


# Issuance is the library's three messages between two parties: the issuer's offer (with
# its key correctness proof), the holder's request (its link secret blinded: the issuer never
# learns it), the issuer's signed credential, which the holder unblinds (`accept`).


def offer(definitions: Definitions, secrets: IssuerSecrets) -> str:
    import anoncreds  # noqa: PLC0415 - as in _load

    ids = ids_of(definitions.issuer)
    return anoncreds.CredentialOffer.create(
        ids.schema, ids.credential_definition, secrets.key_correctness_proof
    ).to_json()


def request_credential(
    definitions: Definitions, offered: str, holder_secret: str
) -> tuple[str, str]:
    """The holder's (request for the issuer, metadata it keeps for `accept`)."""
    import anoncreds  # noqa: PLC0415 - as in _load

    definition = anoncreds.CredentialDefinition.load(definitions.credential_definition)
    try:
        asked, metadata = anoncreds.CredentialRequest.create(
            "metanode-holder", None, definition, holder_secret, "link-secret", offered
        )
    except anoncreds.AnoncredsError as error:
        raise VerificationError(f"the offer does not verify: {error}") from None
    return asked.to_json(), metadata.to_json()


def sign_credential(
    definitions: Definitions,
    secrets: IssuerSecrets,
    status: bytes,
    offered: str,
    asked: str,
    level: int,
    birth_date: int,
    index: int,
) -> str:
    """The issuer's KYC credential for `asked` at revocation index `index`."""
    import anoncreds  # noqa: PLC0415 - as in _load

    registry = anoncreds.RevocationRegistryDefinition.load(definitions.revocation_registry)
    revocation = anoncreds.CredentialRevocationConfig(
        registry, secrets.revocation_registry_private, status.decode(), index
    )
    try:
        signed = anoncreds.Credential.create(
            definitions.credential_definition,
            secrets.credential_definition_private,
            offered,
            asked,
            {LEVEL: str(level), BIRTH_DATE: str(birth_date)},
            None,
            revocation,
        )
    except anoncreds.AnoncredsError as error:
        raise VerificationError(f"the request does not answer the offer: {error}") from None
    return signed.to_json()


def accept(definitions: Definitions, signed: str, metadata: str, holder_secret: str) -> str:
    """The holder's credential from the issuer's answer (checked against the definition)."""
    import anoncreds  # noqa: PLC0415 - as in _load

    definition = anoncreds.CredentialDefinition.load(definitions.credential_definition)
    registry = anoncreds.RevocationRegistryDefinition.load(definitions.revocation_registry)
    try:
        return (
            anoncreds.Credential.load(signed)
            .process(
                anoncreds.CredentialRequestMetadata.load(metadata),
                holder_secret,
                definition,
                registry,
            )
            .to_json()
        )
    except anoncreds.AnoncredsError as error:
        raise VerificationError(f"the credential does not verify: {error}") from None


def issue(
    definitions: Definitions,
    secrets: IssuerSecrets,
    status: bytes,
    holder_secret: str,
    level: int,
    birth_date: int,
    index: int,
) -> str:
    """Both sides of issuance in one process (tests, benches): offer, request, sign, accept."""
    offered = offer(definitions, secrets)
    asked, metadata = request_credential(definitions, offered, holder_secret)
    signed = sign_credential(definitions, secrets, status, offered, asked, level, birth_date, index)
    return accept(definitions, signed, metadata, holder_secret)


def prove(
    credential: str,
    holder_secret: str,
    statement: Statement,
    nonce: int,
    definitions: Definitions,
    status: bytes,
    tails_file: Path,
) -> bytes:
    """The holder's presentation of `statement` for `nonce`, non-revoked at `status`'s time."""
    import anoncreds  # noqa: PLC0415 - as in _load

    ids = ids_of(definitions.issuer)
    listed = parse_status_list(status, definitions.issuer)
    try:
        held = anoncreds.Credential.load(credential)
        revocation = anoncreds.CredentialRevocationState.create(
            definitions.revocation_registry, listed.text, held.rev_reg_index, str(tails_file)
        )
        chosen = anoncreds.PresentCredentials()
        referents = [referent for referent, *_ in statement.predicates()]
        chosen.add_predicates(held, *referents, timestamp=listed.timestamp, rev_state=revocation)
        presentation = anoncreds.Presentation.create(
            request(statement, nonce, listed.timestamp),
            chosen,
            {},
            holder_secret,
            {ids.schema: definitions.schema},
            {ids.credential_definition: definitions.credential_definition},
        )
    except anoncreds.AnoncredsError as error:
        raise ProofError(str(error)) from None
    return presentation.to_json().encode()


class ProofError(VerificationError):
    """The holder cannot make the proof: its credential, the tails file or the status list
    does not serve the statement."""
