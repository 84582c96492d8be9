"""eddsa-jcs-2022 against the W3C specification's own test vector, and the strict JSON reader.

The vector: w3c/vc-di-eddsa, TestVectors/keyPair.json (the key pair), TestVectors/eddsa-jcs-2022/
signedJCS.json and proofConfigJCS.json (the credential, proof options and expected proofValue),
the example of the spec's "Representation: eddsa-jcs-2022" appendix. Only the values this test
needs are written here.
"""

from __future__ import annotations

import pytest

from metanode.crypto import data_integrity, ed25519
from metanode.errors import DecodeError

PUBLIC_MULTIKEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET_MULTIKEY = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]
UNSIGNED = {
    "@context": CONTEXT,
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
METHOD = f"https://vc.example/issuers/5678#{PUBLIC_MULTIKEY}"
CREATED = "2023-02-24T23:36:38Z"
PROOF_VALUE = (
    "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
)


def test_signing_the_w3c_vector_gives_its_proof_value() -> None:
    key = ed25519.PrivateKey(data_integrity.seed_of(SECRET_MULTIKEY))
    assert data_integrity.multikey(key.public_key) == PUBLIC_MULTIKEY
    signed = data_integrity.sign(UNSIGNED, key, verification_method=METHOD, created=CREATED)
    assert signed["proof"]["proofValue"] == PROOF_VALUE
    assert signed["proof"]["@context"] == CONTEXT
    assert data_integrity.verify(signed, data_integrity.public_key_of(PUBLIC_MULTIKEY))


def test_a_changed_document_or_proof_does_not_verify() -> None:
    key = ed25519.PrivateKey(data_integrity.seed_of(SECRET_MULTIKEY))
    signed = data_integrity.sign(UNSIGNED, key, verification_method=METHOD, created=CREATED)
    public_key = key.public_key
    changed = {**signed, "name": "Another"}
    later = {**signed, "proof": {**signed["proof"], "created": "2024-01-01T00:00:00Z"}}
    other_suite = {**signed, "proof": {**signed["proof"], "cryptosuite": "eddsa-rdfc-2022"}}
    short = {**signed, "proof": {**signed["proof"], "proofValue": "z1111"}}
    not_base58 = {**signed, "proof": {**signed["proof"], "proofValue": "z0OIl"}}
    foreign_context = {**signed, "proof": {**signed["proof"], "@context": ["https://x"]}}
    for document in (changed, later, other_suite, short, not_base58, foreign_context):
        assert not data_integrity.verify(document, public_key)
    assert not data_integrity.verify(signed, ed25519.PrivateKey(bytes(32)).public_key)


@pytest.mark.parametrize(
    "text",
    [b'{"a": 1, "a": 2}', b'{"a": 1.5}', b'{"a": NaN}', b"\xff", b"[" * 20 + b"]" * 20, b"{"],
)
def test_strict_json_refuses_what_two_readers_could_read_differently(text: bytes) -> None:
    with pytest.raises(DecodeError):
        data_integrity.parse_json(text)


def test_multikeys_of_other_kinds_are_refused() -> None:
    with pytest.raises(DecodeError):
        data_integrity.public_key_of(SECRET_MULTIKEY)  # a secret key's multicodec
    with pytest.raises(DecodeError):
        data_integrity.public_key_of("u" + PUBLIC_MULTIKEY[1:])  # not base58btc
