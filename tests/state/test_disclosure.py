"""identity.disclosure: an SD-JWT KYC credential from a registered authority verifies against
the key the chain holds for its `kid`, disclosing exactly what the holder chose; one signed by a
DID that is not an authority's, or naming a key the chain does not hold, is refused."""

from __future__ import annotations

import time

import pytest

from metanode.crypto import ed25519, sd_jwt
from metanode.errors import ConfigError
from metanode.state.identity import disclosure
from metanode.types import CreateDid
from tests.state.support import Wallet
from tests.state.test_identity import BANK, Nonces, did, identity_chain, run

HOLDER = Wallet.of(1)
OUTSIDER = Wallet.of(2)


def now() -> int:
    """A minute from now: the holder's library stamps its Key Binding JWT with the wall clock."""
    return int(time.time()) + 60


ATTRIBUTES = {"sub": did(HOLDER), "kyc_level": "full", "birthdate": "1990-01-15", "country": "IN"}


def key(wallet: Wallet) -> ed25519.PrivateKey:
    return ed25519.PrivateKey(bytes(wallet.key))


def credential(issuer: Wallet, fragment: str = "key-1") -> str:
    return disclosure.issue_kyc(
        did(issuer), fragment, key(issuer), HOLDER.public_key, ATTRIBUTES, now() - 60, now() + 3_600
    )


def test_an_authority_credential_discloses_exactly_the_chosen_attributes() -> None:
    chain, nonces = identity_chain(), Nonces()
    for wallet in (BANK, OUTSIDER):
        assert run(chain, nonces, wallet, CreateDid((), ())) == "ok"
    reader = chain.state.reader
    shown = sd_jwt.present(credential(BANK), ["country", "kyc_level"], key(HOLDER), "shop", "n-1")
    verified = disclosure.verify_kyc(reader, shown, now(), "shop", "n-1")
    assert disclosure.disclosed(verified) == {"country": "IN", "kyc_level": "full"}
    assert verified.issuer == did(BANK) and verified.key_bound
    refusals = [
        (credential(OUTSIDER), "issuer_not_authority"),
        (credential(BANK, "key-9"), "issuer_unknown"),
        (credential(Wallet.of(5)), "issuer_unknown"),  # no DID on chain
    ]
    for issued, rule in refusals:
        shown = sd_jwt.present(issued, ["country"], key(HOLDER), "shop", "n-1")
        with pytest.raises(sd_jwt.DisclosureError) as caught:
            disclosure.verify_kyc(reader, shown, now(), "shop", "n-1")
        assert caught.value.rule == rule


def test_only_kyc_attributes_are_issued() -> None:
    with pytest.raises(ConfigError, match="salary"):
        disclosure.issue_kyc(
            did(BANK), "key-1", key(BANK), HOLDER.public_key, {"salary": "1"}, 0, 1
        )
