"""W3C Data Integrity with the `eddsa-jcs-2022` cryptosuite (vc-di-eddsa §3.3), Multikey
Ed25519 public keys, and the strict JSON that signed documents are read with.

Rules:
- Canonical form is JCS (RFC 8785, the `rfc8785` library); the hash is SHA-256; the signature
  is Ed25519 under the pinned verification rule of `metanode.crypto.ed25519`.
- Signing (spec §3.3.1 "Create Proof"): the proof options are the proof without `proofValue`,
  with the document's `@context` copied in when the document has one; the signed bytes are
  SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without proof)); `proofValue` is the
  signature in base58btc multibase (`z…`).
- Verification (§3.3.2) refuses a proof of another type or cryptosuite, a proof whose
  `@context` is not a prefix of the document's, and a `proofValue` that is not `z` + base58btc
  of 64 bytes. It never raises on such input: it answers False.
- A Multikey Ed25519 public key (Controlled Identifiers §2.2.2) is `z` + base58btc of the
  multicodec prefix 0xed 0x01 and the 32 key bytes.
- `parse_json` reads a document for signing or verifying: duplicate member names, numbers that
  are not integers, and nesting deeper than `json_depth_max` are refused, because two readers
  that resolve them differently would agree on a signature but not on what it signed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import base58
import rfc8785

from metanode.crypto import ed25519
from metanode.errors import DecodeError

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
ED25519_MULTICODEC = b"\xed\x01"
ED25519_PRIVATE_MULTICODEC = b"\x80\x26"
json_depth_max = 16

JsonObject = dict[str, Any]


def multibase_encode(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z") or not text.isascii():
        raise DecodeError("not_multibase", f"{str(text)[:40]!r} is not base58btc multibase (z…)")
    try:
        return base58.b58decode(text[1:])
    except ValueError:
        raise DecodeError("not_multibase", f"{text[:40]!r} is not base58btc") from None


def multikey(public_key: bytes) -> str:
    """The `publicKeyMultibase` of an Ed25519 public key."""
    return multibase_encode(ED25519_MULTICODEC + public_key)


def public_key_of(multikey_text: str) -> bytes:
    raw = multibase_decode(multikey_text)
    if len(raw) != 2 + ed25519.PUBLIC_KEY_BYTES or not raw.startswith(ED25519_MULTICODEC):
        raise DecodeError("not_ed25519_multikey", f"{multikey_text[:40]!r} is no Ed25519 key")
    return raw[2:]


def seed_of(private_multikey: str) -> bytes:
    """The seed of an Ed25519 `secretKeyMultibase` (multicodec ed25519-priv, 0x1300)."""
    raw = multibase_decode(private_multikey)
    if len(raw) != 2 + ed25519.SEED_BYTES or not raw.startswith(ED25519_PRIVATE_MULTICODEC):
        raise DecodeError("not_ed25519_multikey", "not an Ed25519 secret key multikey")
    return raw[2:]


def canonical(value: Any) -> bytes:
    """JCS (RFC 8785) bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise DecodeError("not_canonicalizable", str(error)) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> JsonObject:
    result: JsonObject = {}
    for name, value in pairs:
        if name in result:
            raise DecodeError("duplicate_member", f"member {name[:40]!r} appears twice")
        result[name] = value
    return result


def _refuse_number(text: str) -> Any:
    raise DecodeError("not_integer", f"number {text[:40]!r} is not an integer")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def parse_json(data: bytes) -> Any:
    """Strict JSON (see the module rules); raises `DecodeError` on anything else."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_number,
            parse_constant=_refuse_number,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise DecodeError("not_json", f"not UTF-8 JSON: {error}") from None
    if _depth(value) > json_depth_max:
        raise DecodeError("too_deep", f"nested deeper than {json_depth_max}")
    return value


def _proof_options(document: JsonObject, proof: JsonObject) -> JsonObject:
    options = {name: value for name, value in proof.items() if name != "proofValue"}
    if "@context" in document:
        options["@context"] = document["@context"]
    return options


def hash_data(document: JsonObject, options: JsonObject) -> bytes:
    """SHA-256(JCS(proof options)) ‖ SHA-256(JCS(unsecured document)): the bytes signed. As
    §3.3.2 says, the document is hashed under the proof's `@context` when the proof has one."""
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    if "@context" in options:
        unsecured["@context"] = options["@context"]
    return (
        hashlib.sha256(canonical(options)).digest() + hashlib.sha256(canonical(unsecured)).digest()
    )


def sign(
    document: JsonObject,
    key: ed25519.PrivateKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
) -> JsonObject:
    """The document with an `eddsa-jcs-2022` proof added (any proof it had is replaced)."""
    proof: JsonObject = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    options = _proof_options(document, proof)
    signature = key.sign(hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": multibase_encode(signature)}}


def proof_of(document: Any) -> JsonObject | None:
    """The document's single `eddsa-jcs-2022` proof, or None when it has no such proof."""
    if not isinstance(document, dict):
        return None
    proof = document.get("proof")
    if (
        not isinstance(proof, dict)
        or proof.get("type") != PROOF_TYPE
        or proof.get("cryptosuite") != CRYPTOSUITE
        or not isinstance(proof.get("proofValue"), str)
    ):
        return None
    return proof


def verify(document: JsonObject, public_key: bytes) -> bool:
    """Whether the document's `eddsa-jcs-2022` proof verifies with `public_key`."""
    proof = proof_of(document)
    if proof is None:
        return False
    context = proof.get("@context")
    if context is not None:
        document_context = document.get("@context")
        if not (
            isinstance(context, list)
            and isinstance(document_context, list)
            and document_context[: len(context)] == context
        ):
            return False
    try:
        signature = multibase_decode(proof["proofValue"])
        data = hash_data(document, {k: v for k, v in proof.items() if k != "proofValue"})
    except DecodeError:
        return False
    return len(signature) == ed25519.SIGNATURE_BYTES and ed25519.is_valid(
        public_key, data, signature
    )
