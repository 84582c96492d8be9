"""KYC credentials: the W3C VC Data Model 2.0 shape this chain accepts, read into a typed
`KycCredential`, and built for issuers (the CLI signs what `build` returns).

The accepted shape (anything else is `identity.credential_malformed`):

    {"@context": ["https://www.w3.org/ns/credentials/v2", …],
     "type": ["VerifiableCredential", "KycCredential", …],
     "issuer": "did:metanode:…",
     "validFrom": "2025-01-01T00:00:00Z", "validUntil": "2026-01-01T00:00:00Z",
     "credentialSubject": {"id": "did:metanode:…", "kycLevel": "basic|standard|enhanced|full"},
     "credentialStatus": {"id": "<list>#<index>", "type": "BitstringStatusListEntry",
                          "statusPurpose": "revocation", "statusListIndex": "<index>",
                          "statusListCredential": "<issuer>/credentials/status/revocation"},
     "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
               "verificationMethod": "<issuer>#<fragment>", "proofPurpose": "assertionMethod",
               "created": …, "proofValue": "z…"}}

Times are UTC to the second, `YYYY-MM-DDTHH:MM:SSZ` exactly (one spelling per instant);
`validUntil` is required: a KYC check must expire. The status list is the issuer's own,
named by a DID URL the resolver dereferences (`status_list_url`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from metanode.codec import tags
from metanode.crypto import data_integrity
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.state.identity.records import FRAGMENT, did_id, status_list_bits
from metanode.state.registry.records import IdentityLevel

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
KYC_TYPE = "KycCredential"
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"
STATUS_PURPOSE = "revocation"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEVELS = {level.name.lower(): level for level in IdentityLevel if level > IdentityLevel.NONE}
# The attributes a KYC credential in SD-JWT form (disclosure.py) discloses one by one: here, not
# there, so the CLI's help text does not load the JOSE libraries at every start.
DISCLOSABLE = ("sub", "kyc_level", "given_name", "family_name", "birthdate", "country")


def status_list_url(issuer: str) -> str:
    return f"{issuer}/credentials/status/{STATUS_PURPOSE}"


def time_ms(text: object) -> int:
    if not isinstance(text, str) or len(text) != 20:
        raise DecodeError("bad_time", f"{str(text)[:40]!r} is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        moment = datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise DecodeError("bad_time", f"{text!r} is not YYYY-MM-DDTHH:MM:SSZ") from None
    if moment < _EPOCH:
        raise DecodeError("bad_time", f"{text!r} is before 1970")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def time_text(milliseconds: int) -> str:
    return (_EPOCH + timedelta(milliseconds=milliseconds)).strftime(TIME_FORMAT)


@dataclass(frozen=True, slots=True)
class KycCredential:
    document: dict[str, Any]  # the whole credential, proof included
    issuer: str
    subject: str
    level: IdentityLevel
    valid_from_ms: int
    valid_until_ms: int
    status_index: int
    fragment: str  # of the issuer's verification method that signed
    hash: bytes  # its identifier on chain: the tagged hash of its JCS form


def _field(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    if not isinstance(value, kind):
        raise DecodeError("bad_credential", f"{name} must be a {kind.__name__}")
    return value


def _did(value: object, name: str) -> str:
    if did_id(value) is None:
        raise DecodeError("bad_credential", f"{name} must be a did:metanode DID")
    return value  # type: ignore[return-value]


def parse(data: bytes) -> KycCredential:
    """Read a credential's JSON; `DecodeError` names the first thing that is wrong."""
    document = data_integrity.parse_json(data)
    if not isinstance(document, dict):
        raise DecodeError("bad_credential", "a credential is a JSON object")
    context = _field(document, "@context", list)
    if not context or context[0] != VC_CONTEXT:
        raise DecodeError("bad_credential", f"@context must start with {VC_CONTEXT}")
    types = _field(document, "type", list)
    if "VerifiableCredential" not in types or KYC_TYPE not in types:
        raise DecodeError("bad_credential", f"type must hold VerifiableCredential and {KYC_TYPE}")
    issuer = _did(document.get("issuer"), "issuer")
    subject_claims = _field(document, "credentialSubject", dict)
    subject = _did(subject_claims.get("id"), "credentialSubject.id")
    level_name = subject_claims.get("kycLevel")
    level = LEVELS.get(level_name) if isinstance(level_name, str) else None
    if level is None:
        raise DecodeError("bad_credential", f"kycLevel must be one of {', '.join(LEVELS)}")
    valid_from = time_ms(document.get("validFrom"))
    valid_until = time_ms(document.get("validUntil"))
    if valid_until <= valid_from:
        raise DecodeError("bad_credential", "validUntil must be after validFrom")
    status = _field(document, "credentialStatus", dict)
    index_text = status.get("statusListIndex")
    if (
        not isinstance(index_text, str)
        or not index_text.isascii()
        or not index_text.isdigit()
        or index_text != str(int(index_text))
        or int(index_text) >= status_list_bits
    ):
        raise DecodeError("bad_credential", f"statusListIndex must be 0..{status_list_bits - 1}")
    list_url = status_list_url(issuer)
    if status != {
        "id": f"{list_url}#{index_text}",
        "type": STATUS_ENTRY_TYPE,
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": index_text,
        "statusListCredential": list_url,
    }:
        raise DecodeError("bad_credential", f"credentialStatus must be an entry of {list_url}")
    proof = data_integrity.proof_of(document)
    if proof is None or proof.get("proofPurpose") != "assertionMethod":
        raise DecodeError("bad_credential", "proof must be an eddsa-jcs-2022 assertion proof")
    method = proof.get("verificationMethod")
    prefix = issuer + "#"
    if not (
        isinstance(method, str)
        and method.startswith(prefix)
        and FRAGMENT.fullmatch(method[len(prefix) :])
    ):
        raise DecodeError("bad_credential", "proof.verificationMethod must be <issuer>#<fragment>")
    # JCS refuses integers beyond 2^53 (I-JSON): such a credential has no canonical form.
    digest = tagged_hash(tags.CREDENTIAL, data_integrity.canonical(document))
    return KycCredential(
        document,
        issuer,
        subject,
        level,
        valid_from,
        valid_until,
        int(index_text),
        method[len(prefix) :],
        digest,
    )


def build(
    issuer: str,
    subject: str,
    level: IdentityLevel,
    valid_from_ms: int,
    valid_until_ms: int,
    status_index: int,
) -> dict[str, Any]:
    """An unsigned KYC credential in the accepted shape."""
    list_url = status_list_url(issuer)
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", KYC_TYPE],
        "issuer": issuer,
        "validFrom": time_text(valid_from_ms),
        "validUntil": time_text(valid_until_ms),
        "credentialSubject": {"id": subject, "kycLevel": level.name.lower()},
        "credentialStatus": {
            "id": f"{list_url}#{status_index}",
            "type": STATUS_ENTRY_TYPE,
            "statusPurpose": STATUS_PURPOSE,
            "statusListIndex": str(status_index),
            "statusListCredential": list_url,
        },
    }
