"""crypto.zk: the AnonCreds wrapper. The library's verifier accepts a proof against a request
for a stronger predicate than the proof states; `zk.verify` does not. Malformed definitions,
status lists and presentations are typed DecodeErrors."""

from __future__ import annotations

import json

import anoncreds
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.crypto import zk
from metanode.errors import DecodeError
from tests.state.test_privacy import ISSUER, Holder, Issuer, holder, issuer

__all__ = ["holder", "issuer"]  # the fixtures, shared with the state tests
NONCE = 12345678901234567890
TIME = 1_700_000_000


def test_verify_binds_the_statement_where_the_library_does_not(
    issuer: Issuer, holder: Holder
) -> None:
    status = issuer.status([], TIME)
    listed = zk.parse_status_list(status, ISSUER)
    proved = zk.Statement(ISSUER, 2, 20000101)
    text = zk.prove(
        holder.credential, holder.secret, proved, NONCE, issuer.definitions, status, issuer.tails
    )
    presentation = zk.parse_presentation(text)
    assert zk.verify(presentation, proved, NONCE, issuer.definitions, listed)
    stronger = zk.Statement(ISSUER, 4, 20000101)
    ids = zk.ids_of(ISSUER)
    library_says = anoncreds.Presentation.load(text).verify(
        zk.request(stronger, NONCE, TIME),
        {ids.schema: issuer.definitions.schema},
        {ids.credential_definition: issuer.definitions.credential_definition},
        {ids.revocation_registry: issuer.definitions.revocation_registry},
        [listed.text],
    )
    assert library_says  # the gap this wrapper closes
    assert not zk.verify(presentation, stronger, NONCE, issuer.definitions, listed)
    assert not zk.verify(presentation, proved, NONCE + 1, issuer.definitions, listed)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"{}",
        b'{"proof": {"proofs": []}}',
        b"\xff",
        json.dumps({"proof": 1}).encode(),
        b"[" * 40_000,  # nesting past the recursion limit
        b"1" * 5_000,  # an integer past Python's digit limit
    ],
)
def test_malformed_inputs_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        zk.parse_presentation(data)
    with pytest.raises(DecodeError):
        zk.parse_definitions(data, ISSUER)
    with pytest.raises(DecodeError):
        zk.parse_status_list(data, ISSUER)


@given(st.binary(max_size=256))
def test_any_bytes_parse_or_raise_decode_error(data: bytes) -> None:
    for parse in (
        zk.parse_presentation,
        lambda d: zk.parse_definitions(d, ISSUER),
        lambda d: zk.parse_status_list(d, ISSUER),
    ):
        try:
            parse(data)
        except DecodeError:
            pass


def test_definitions_of_another_issuer_are_refused(issuer: Issuer) -> None:
    with pytest.raises(DecodeError, match="schema"):
        zk.parse_definitions(issuer.definitions.to_json(), "did:metanode:11111111111111111111")


def test_issuance_never_shows_the_issuer_the_link_secret(issuer: Issuer) -> None:
    secret = zk.link_secret()
    offered = zk.offer(issuer.definitions, issuer.secrets)
    asked, metadata = zk.request_credential(issuer.definitions, offered, secret)
    assert secret not in asked  # blinded
    status = issuer.status([], TIME)
    signed = zk.sign_credential(
        issuer.definitions, issuer.secrets, status, offered, asked, 3, 19900115, 5
    )
    credential = zk.accept(issuer.definitions, signed, metadata, secret)
    assert anoncreds.Credential.load(credential).rev_reg_index == 5
