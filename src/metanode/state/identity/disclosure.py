"""KYC credentials in SD-JWT form (RFC 9901; crypto/sd_jwt.py): an authority issues the
holder's personal attributes as separately disclosable claims, and the holder shows a
verifier only the ones it chooses (country and level, not name or birth date).

An SD-JWT KYC credential carries, always visible: `iss` (the authority's DID), `iat`, `exp`
(seconds), `vct` (`KYC_TYPE`) and `cnf` (the holder's Ed25519 key, for key binding); and, each
in its own disclosure: `sub` (the holder's DID), `kyc_level`, `given_name`, `family_name`,
`birthdate`, `country` (those the authority attests). The JWS header's `kid` is
`<iss>#<fragment>`, an assertion method of the issuer's DID.

`verify_kyc` resolves that key from the chain (read-only) and requires the DID to be an
active authority's (queries.is_authority), then checks the presentation. The credential never
goes on chain: only the verifier sees what the holder discloses.
"""

from __future__ import annotations

from typing import Any

from metanode.crypto import ed25519, sd_jwt
from metanode.errors import ConfigError
from metanode.state.identity.credentials import DISCLOSABLE
from metanode.state.identity.queries import is_authority
from metanode.state.identity.records import read_did
from metanode.state.view import StateReader
from metanode.types import Relationship

KYC_TYPE = "https://metanode.dev/credentials/kyc"


def issue_kyc(
    issuer: str,
    fragment: str,
    key: ed25519.PrivateKey,
    holder_key: bytes,
    attributes: dict[str, str],
    issued_s: int,
    expires_s: int,
) -> str:
    """The SD-JWT form of a KYC credential; `attributes` are some of `DISCLOSABLE`."""
    unknown = set(attributes) - set(DISCLOSABLE)
    if unknown:
        raise ConfigError(f"not KYC attributes: {', '.join(sorted(unknown))}")
    claims = {"iss": issuer, "iat": issued_s, "exp": expires_s, "vct": KYC_TYPE}
    return sd_jwt.issue(claims, attributes, key, f"{issuer}#{fragment}", holder_key)


def verify_kyc(
    reader: StateReader,
    presentation: str,
    now_s: int,
    audience: str | None = None,
    nonce: str | None = None,
) -> sd_jwt.Verified:
    """Verify a KYC presentation against the issuer key the chain holds; `DisclosureError`
    names what failed (`issuer_unknown`, `issuer_not_authority`, or sd_jwt's rules)."""
    key_id = sd_jwt.header(presentation).get("kid")
    issuer, _, fragment = key_id.partition("#") if isinstance(key_id, str) else ("", "", "")
    record = read_did(reader, issuer)
    method = record.method(fragment) if record is not None and not record.deactivated else None
    if record is None or method is None or Relationship.ASSERTION not in method.relationships:
        raise sd_jwt.DisclosureError("issuer_unknown", f"{key_id!r} is no assertion key on chain")
    if not is_authority(reader, issuer, record):
        raise sd_jwt.DisclosureError("issuer_not_authority", f"{issuer} is not an authority")
    verified = sd_jwt.verify(presentation, method.public_key, now_s, audience, nonce)
    if verified.issuer != issuer or verified.claims.get("vct") != KYC_TYPE:
        raise sd_jwt.DisclosureError("malformed", f"iss must be {issuer} and vct {KYC_TYPE}")
    return verified


def disclosed(verified: sd_jwt.Verified) -> dict[str, Any]:
    """The KYC attributes the holder chose to show."""
    return {name: verified.claims[name] for name in DISCLOSABLE if name in verified.claims}
