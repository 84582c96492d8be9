"""Selective disclosure with SD-JWT (RFC 9901), through the OpenWallet Foundation's `sd-jwt`
library, signed EdDSA (Ed25519) by an issuer DID's assertion key.

Shapes. An issuance is `<JWS>~<disclosure>~…~`; a presentation keeps the disclosures the holder
chose and ends with an optional Key Binding JWT (`…~<KB-JWT>`) that the holder signs with the
key the issuer bound in `cnf.jwk`, over the verifier's audience and nonce and the presentation's
SHA-256 (`sd_hash`). Digests are SHA-256 (`_sd_alg` absent or `sha-256`).

Verification (`verify`) is a pure function of the presentation, the issuer's public key, the
time and the expected audience and nonce, so an app may call it from the cage. Beyond what the
library checks (the JWS, each disclosure's digest mapped into the payload, duplicates, the KB-JWT
when asked for), it enforces what the library leaves out:
- the issuer's signature also verifies under the project's pinned Ed25519 rule
  (`crypto.ed25519`), so every node accepts exactly the same signatures;
- `alg` is `EdDSA` and `typ` is `dc+sd-jwt` (no algorithm substitution);
- every disclosure is referenced by a digest of the payload or of another disclosure
  (RFC 9901 §7.1: otherwise the SD-JWT is rejected) — a disclosure that does not match its
  digest is therefore refused, not ignored;
- `nbf` and `exp` against the given time, and the KB-JWT's `iat` not after it (give or take
  `key_binding_skew_s`); the KB-JWT itself is checked here, as the library checks it with
  ES256 only.
Each failure is a `DisclosureError` whose `rule` names the check.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from metanode.crypto import ed25519
from metanode.errors import VerificationError

ALGORITHM = "EdDSA"
TYPE = "dc+sd-jwt"
KEY_BINDING_TYPE = "kb+jwt"
SEPARATOR = "~"
presentation_bytes_max = 16 * 1024
disclosures_max = 32
# A holder's clock may run ahead of the verifier's time (a block's time, in the cage); the
# verifier's nonce, not `iat`, is what makes a presentation fresh.
key_binding_skew_s = 300


class DisclosureError(VerificationError):
    """A presentation that does not verify; `rule` is a stable identifier of the check."""

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"{rule}: {detail}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise DisclosureError("malformed", "not base64url") from None


def _private_jwk(key: ed25519.PrivateKey) -> jwk.JWK:
    return jwk.JWK(kty="OKP", crv="Ed25519", x=_b64(key.public_key), d=_b64(key.seed))


def _public_jwk(public_key: bytes) -> jwk.JWK:
    return jwk.JWK(kty="OKP", crv="Ed25519", x=_b64(public_key))


def issue(
    claims: dict[str, Any],
    disclosable: dict[str, Any],
    issuer_key: ed25519.PrivateKey,
    key_id: str,
    holder_key: bytes,
) -> str:
    """An SD-JWT over `claims` (always visible: `iss`, `iat`, `exp`…) and `disclosable` (each a
    separate disclosure), bound to the holder's Ed25519 `holder_key`."""
    user_claims: dict[Any, Any] = dict(claims)
    user_claims.update({SDObj(name): value for name, value in disclosable.items()})
    issuer = SDJWTIssuer(
        user_claims,
        _private_jwk(issuer_key),
        holder_key=_public_jwk(holder_key),
        sign_alg=ALGORITHM,
        extra_header_parameters={"typ": TYPE, "kid": key_id},
    )
    return issuer.sd_jwt_issuance


def present(
    issuance: str,
    chosen: list[str],
    holder_key: ed25519.PrivateKey,
    audience: str,
    nonce: str,
) -> str:
    """A presentation disclosing exactly the claims named in `chosen`, key-bound to the
    verifier's `audience` and `nonce`."""
    holder = SDJWTHolder(issuance)
    holder.create_presentation(
        {name: True for name in chosen}, nonce, audience, _private_jwk(holder_key), ALGORITHM
    )
    return holder.sd_jwt_presentation


@dataclass(frozen=True, slots=True)
class Verified:
    issuer: str  # the `iss` claim
    key_id: str  # the header's `kid`
    claims: dict[str, Any]  # visible and disclosed claims (`_sd`, `_sd_alg`, `cnf` removed)
    key_bound: bool  # a KB-JWT for the expected audience and nonce verified


def header(presentation: str) -> dict[str, Any]:
    """The issuer JWS's protected header, unverified (to find the issuer's key)."""
    jws = presentation.split(SEPARATOR, 1)[0]
    parts = jws.split(".")
    if len(parts) != 3:
        raise DisclosureError("malformed", "an SD-JWT starts with a compact JWS")
    return _json(_unb64(parts[0]), "header")


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DisclosureError("malformed", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise DisclosureError("malformed", f"{what} must be a JSON object")
    return value


def _digests(value: Any) -> set[str]:
    """Every digest a payload or disclosed value refers to (`_sd` entries, `...` elements)."""
    found: set[str] = set()
    if isinstance(value, dict):
        listed = value.get("_sd", [])
        if isinstance(listed, list):
            found.update(item for item in listed if isinstance(item, str))
        if isinstance(value.get("..."), str) and len(value) == 1:
            found.add(value["..."])
        for item in value.values():
            found |= _digests(item)
    elif isinstance(value, list):
        for item in value:
            found |= _digests(item)
    return found


def _referenced(payload: dict[str, Any], disclosures: list[str]) -> set[str]:
    """The digests the payload and the disclosures' values name."""
    try:
        referenced = _digests(payload)
        for disclosure in disclosures:
            content = json.loads(_unb64(disclosure))
            if not isinstance(content, list) or len(content) not in (2, 3):
                raise DisclosureError("disclosure_malformed", "a disclosure is [salt, name, value]")
            referenced |= _digests(content[-1])
    # RecursionError: JSON nested deeper than Python's stack (a disclosure is unsigned input).
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DisclosureError("disclosure_malformed", "a disclosure is not JSON") from None
    return referenced


def _check_structure(presentation: str, public_key: bytes) -> tuple[dict[str, Any], list[str], str]:
    """The payload (its signature checked under the pinned rule), the disclosures, the KB-JWT."""
    if len(presentation) > presentation_bytes_max or not presentation.isascii():
        raise DisclosureError(
            "malformed", f"a presentation is ASCII, ≤ {presentation_bytes_max} bytes"
        )
    parts = presentation.split(SEPARATOR)
    if len(parts) < 2:
        raise DisclosureError("malformed", "an SD-JWT is <JWS>~<disclosures>~[<KB-JWT>]")
    jws, *disclosures, key_binding = parts
    if len(disclosures) > disclosures_max:
        raise DisclosureError("malformed", f"at most {disclosures_max} disclosures")
    head = header(presentation)
    if head.get("alg") != ALGORITHM or head.get("typ") != TYPE:
        raise DisclosureError("malformed", f"the header must say alg {ALGORITHM}, typ {TYPE}")
    protected, body, signature = jws.split(".")
    if not ed25519.is_valid(public_key, f"{protected}.{body}".encode(), _unb64(signature)):
        raise DisclosureError("signature_invalid", "the issuer's signature does not verify")
    payload = _json(_unb64(body), "payload")
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise DisclosureError("malformed", "digests must be sha-256")
    return payload, disclosures, key_binding


def verify(
    presentation: str,
    public_key: bytes,
    now_s: int,
    audience: str | None = None,
    nonce: str | None = None,
) -> Verified:
    """Check `presentation` against the issuer's Ed25519 `public_key` at time `now_s`; with
    `audience` and `nonce`, a Key Binding JWT for them is required."""
    payload, disclosures, key_binding = _check_structure(presentation, public_key)
    referenced = _referenced(payload, disclosures)
    for disclosure in disclosures:
        digest = _b64(hashlib.sha256(disclosure.encode("ascii")).digest())
        if digest not in referenced:
            raise DisclosureError(
                "disclosure_unreferenced", "a disclosure matches no digest of the SD-JWT"
            )
    try:
        verifier = SDJWTVerifier(presentation, lambda _issuer, _header: _public_jwk(public_key))
        claims = verifier.get_verified_payload()
    except (JWException, ValueError, KeyError, TypeError) as error:
        raise DisclosureError("malformed", str(error)[:200]) from None
    _check_times(payload, now_s)
    wants_binding = audience is not None and nonce is not None
    if wants_binding:
        _check_key_binding(presentation, key_binding, payload, now_s, audience, nonce)
    claims.pop("cnf", None)
    issuer = payload.get("iss")
    if not isinstance(issuer, str):
        raise DisclosureError("malformed", "the SD-JWT names no issuer (iss)")
    key_id = str(header(presentation).get("kid", ""))
    return Verified(issuer, key_id, claims, wants_binding)


def _check_key_binding(
    presentation: str,
    key_binding: str,
    payload: dict[str, Any],
    now_s: int,
    audience: str | None,
    nonce: str | None,
) -> None:
    """RFC 9901 §7.3: the KB-JWT is signed by the key in `cnf.jwk` (Ed25519, pinned rule), typed
    `kb+jwt`, for this audience and nonce, issued no later than now, over this presentation's
    SHA-256. (The library checks the KB-JWT with ES256 only.)"""
    parts = key_binding.split(".")
    if len(parts) != 3:
        raise DisclosureError("key_binding_invalid", "a Key Binding JWT is required")
    head = _json(_unb64(parts[0]), "Key Binding JWT header")
    body = _json(_unb64(parts[1]), "Key Binding JWT")
    confirmation = payload.get("cnf")
    holder = confirmation.get("jwk") if isinstance(confirmation, dict) else None
    if not (
        isinstance(holder, dict)
        and holder.get("kty") == "OKP"
        and holder.get("crv") == "Ed25519"
        and isinstance(holder.get("x"), str)
    ):
        raise DisclosureError("key_binding_invalid", "cnf.jwk must be an Ed25519 key")
    signed = f"{parts[0]}.{parts[1]}".encode()
    if not ed25519.is_valid(_unb64(holder["x"]), signed, _unb64(parts[2])):
        raise DisclosureError("key_binding_invalid", "the holder's signature does not verify")
    bound = presentation[: len(presentation) - len(key_binding)]
    expected_hash = _b64(hashlib.sha256(bound.encode("ascii")).digest())
    checks = {
        "alg": head.get("alg") == ALGORITHM,
        "typ": head.get("typ") == KEY_BINDING_TYPE,
        "aud": body.get("aud") == audience,
        "nonce": body.get("nonce") == nonce,
        "iat": type(body.get("iat")) is int and body["iat"] <= now_s + key_binding_skew_s,
        "sd_hash": body.get("sd_hash") == expected_hash,
    }
    wrong = [name for name, ok in checks.items() if not ok]
    if wrong:
        raise DisclosureError("key_binding_invalid", f"wrong {', '.join(wrong)}")


def _check_times(payload: dict[str, Any], now_s: int) -> None:
    for name in ("nbf", "exp", "iat"):
        if name in payload and type(payload[name]) is not int:
            raise DisclosureError("malformed", f"{name} must be an integer (seconds)")
    if payload.get("nbf", 0) > now_s:
        raise DisclosureError("not_yet_valid", "nbf is after the verification time")
    if "exp" in payload and payload["exp"] <= now_s:
        raise DisclosureError("expired", "exp is not after the verification time")
