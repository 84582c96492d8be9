"""crypto.sd_jwt: an SD-JWT (RFC 9901) issued over KYC attributes reveals exactly the ones its
holder chooses; a disclosure that matches no digest, an altered one, a bad signature, a wrong
audience or nonce, expiry and algorithm substitution are each refused with their rule."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519, sd_jwt
from tests.conftest import examples

ISSUER = ed25519.PrivateKey(hashlib.sha256(b"issuer").digest())
HOLDER = ed25519.PrivateKey(hashlib.sha256(b"holder").digest())


def now() -> int:
    """A minute from now: the holder's library stamps its Key Binding JWT with the wall clock,
    so a test verifies just after it presents, whenever it runs."""
    return int(time.time()) + 60


ATTRIBUTES = {
    "sub": "did:metanode:holder",
    "given_name": "Asha",
    "family_name": "Rao",
    "birthdate": "1990-01-15",
    "country": "IN",
    "kyc_level": "full",
}


def issuance() -> str:
    claims = {"iss": "did:metanode:bank", "iat": now() - 10, "exp": now() + 3_600}
    return sd_jwt.issue(claims, ATTRIBUTES, ISSUER, "did:metanode:bank#key-1", HOLDER.public_key)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def strings(presentation: str) -> set[str]:
    """Every text value in the presentation's JSON parts (headers, payloads, disclosures)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for part in presentation.replace(".", "~").split("~"):
        try:
            walk(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))
        except ValueError:
            continue  # a signature
    return found


def test_a_presentation_reveals_exactly_the_chosen_attributes() -> None:
    issued = issuance()
    for chosen in ([], ["country"], ["country", "kyc_level"], list(ATTRIBUTES)):
        shown = sd_jwt.present(issued, chosen, HOLDER, "https://verifier", "n-1")
        verified = sd_jwt.verify(shown, ISSUER.public_key, now(), "https://verifier", "n-1")
        disclosed = {name: verified.claims[name] for name in ATTRIBUTES if name in verified.claims}
        assert disclosed == {name: ATTRIBUTES[name] for name in chosen}
        assert verified.issuer == "did:metanode:bank" and verified.key_bound
        # The undisclosed values are nowhere in the presentation: no JSON part holds them.
        hidden = {ATTRIBUTES[name] for name in ATTRIBUTES if name not in chosen}
        assert not hidden & strings(shown)


def test_a_disclosure_matching_no_digest_is_refused() -> None:
    issued = issuance()
    shown = sd_jwt.present(issued, ["country"], HOLDER, "aud", "n")
    jws, disclosure, *rest = shown.split("~")
    salt, name, _ = json.loads(base64.urlsafe_b64decode(disclosure + "=="))
    altered = b64(json.dumps([salt, name, "FR"]).encode())
    with pytest.raises(sd_jwt.DisclosureError) as caught:
        sd_jwt.verify("~".join([jws, altered, *rest]), ISSUER.public_key, now())
    assert caught.value.rule == "disclosure_unreferenced"
    # A disclosure of another issuance's is unreferenced too.
    other = sd_jwt.present(issuance(), ["country"], HOLDER, "aud", "n").split("~")[1]
    with pytest.raises(sd_jwt.DisclosureError, match="disclosure_unreferenced"):
        sd_jwt.verify("~".join([jws, other, *rest]), ISSUER.public_key, now())


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("wrong issuer key", "signature_invalid"),
        ("altered payload", "signature_invalid"),
        ("wrong audience", "key_binding_invalid"),
        ("wrong nonce", "key_binding_invalid"),
        ("no key binding", "key_binding_invalid"),
        ("expired", "expired"),
        ("alg none", "malformed"),
        ("deep disclosure", "disclosure_malformed"),
    ],
)
def test_bad_presentations_are_refused_with_their_rule(case: str, rule: str) -> None:
    shown = sd_jwt.present(issuance(), ["country"], HOLDER, "aud", "n")
    key, moment, audience, nonce = ISSUER.public_key, now(), "aud", "n"
    jws, *rest = shown.split("~")
    protected, body, signature = jws.split(".")
    if case == "wrong issuer key":
        key = HOLDER.public_key
    elif case == "altered payload":
        payload = json.loads(base64.urlsafe_b64decode(body + "=="))
        payload["exp"] += 1
        shown = "~".join([f"{protected}.{b64(json.dumps(payload).encode())}.{signature}", *rest])
    elif case == "wrong audience":
        audience = "other"
    elif case == "wrong nonce":
        nonce = "m"
    elif case == "no key binding":
        shown = "~".join([jws, *rest[:-1], ""])
    elif case == "expired":
        moment += 3_600
    elif case == "deep disclosure":
        deep = b64(b'["salt", "name", ' + b"[" * 5_000 + b"]" * 5_000 + b"]")
        shown = "~".join([jws, deep, *rest])
    elif case == "alg none":
        header = b64(json.dumps({"alg": "none", "typ": sd_jwt.TYPE}).encode())
        shown = "~".join([f"{header}.{body}.", *rest])
    with pytest.raises(sd_jwt.DisclosureError) as caught:
        sd_jwt.verify(shown, key, moment, audience, nonce)
    assert caught.value.rule == rule


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=300))
def test_any_text_verifies_or_raises_disclosure_error(text: str) -> None:
    try:
        sd_jwt.verify(text, ISSUER.public_key, now(), "aud", "n")
    except sd_jwt.DisclosureError:
        pass
