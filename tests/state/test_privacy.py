"""privacy: an authority publishes its AnonCreds KYC definitions and status lists, a holder
proves "level ≥ L and age ≥ 18" in zero knowledge and the chain verifies it; forged, replayed,
taken-over, other-statement and revoked proofs are refused with their codes (ladders pinned)
and change nothing but the fee. The authority's CL key is the fixture that
tools/zk_issuer_fixture.py made (tests/state/data/zk-issuer/); every proof here is real."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.crypto import zk
from metanode.errors import InvariantViolation
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import name_of
from metanode.state.genesis.document import from_tree
from metanode.state.genesis.state import export_genesis
from metanode.state.identity.records import did_id
from metanode.state.privacy import invariants, keys, records
from metanode.state.privacy.params import DEFAULT, PrivacyParams
from metanode.state.registry.records import IdentityLevel
from metanode.state.values import encode_value
from metanode.state.view import MemoryReader
from metanode.types import (
    CreateDid,
    DeactivateDid,
    Denom,
    ProveKyc,
    PublishZkIssuer,
    RevokeCredential,
)
from tests.conftest import examples
from tests.state.support import CHAIN_ID, FEE, Chain, Wallet, genesis_tree
from tests.state.test_identity import BANK, Nonces, bank_node, did

DATA = Path(__file__).parent / "data" / "zk-issuer"
ISSUER = did(BANK)
ISSUER_ID = did_id(ISSUER) or b""
HOLDER = Wallet.of(1)
THIEF = Wallet.of(2)
# 1 June 2026, so that a birth date of 1990 is an adult's and one of 2010 is not.
GENESIS_MS = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()) * 1_000
GENESIS_S = GENESIS_MS // 1_000
INDEX = 7  # the holder's credential's status index, shared with the W3C list
PROOF_FEE = DEFAULT.proof_fee_min


@dataclass
class Issuer:
    definitions: zk.Definitions
    secrets: zk.IssuerSecrets
    tails: Path

    def status(self, revoked: list[int], timestamp: int = GENESIS_S) -> bytes:
        return zk.status_list(self.definitions, self.secrets, revoked, timestamp)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    definitions = zk.parse_definitions((DATA / "definitions.json").read_bytes(), ISSUER)
    secrets = json.loads((DATA / "secrets.json").read_text())
    (tails,) = (DATA / "tails").iterdir()
    return Issuer(
        definitions,
        zk.IssuerSecrets(
            json.dumps(secrets["credentialDefinitionPrivate"]),
            json.dumps(secrets["keyCorrectnessProof"]),
            json.dumps(secrets["revocationRegistryPrivate"]),
        ),
        tails,
    )


@dataclass
class Holder:
    secret: str
    credential: str


@pytest.fixture(scope="module")
def holder(issuer: Issuer) -> Holder:
    secret = zk.link_secret()
    credential = zk.issue(
        issuer.definitions,
        issuer.secrets,
        issuer.status([]),
        secret,
        IdentityLevel.ENHANCED,
        19900115,
        INDEX,
    )
    return Holder(secret, credential)


def privacy_chain(parameters: dict[str, Any] | None = None) -> Chain:
    tree = genesis_tree(wallets=6, parameters={"privacy": parameters or {}})
    tree["genesis_time_ms"] = GENESIS_MS
    tree["nodes"] = [bank_node()]
    return Chain(from_tree(tree))


class Run:
    """A chain with the bank's DID, and each wallet's next nonce."""

    def __init__(self, parameters: dict[str, Any] | None = None) -> None:
        self.chain = privacy_chain(parameters)
        self.nonces = Nonces()
        assert self(BANK, CreateDid((), ())) == "ok"

    def __call__(self, wallet: Wallet, message: Any, fee: int = FEE) -> str:
        nonce = self.nonces.next.get(wallet.public_key, 0)
        self.nonces.next[wallet.public_key] = nonce + 1
        tx = wallet.tx(nonce, message, fee=fee)
        return name_of(self.chain.run([tx]).receipts[0].code)

    def next_nonce(self, wallet: Wallet) -> int:
        return self.nonces.next.get(wallet.public_key, 0)

    def publish(self, issuer: Issuer, revoked: list[int], *, first: bool = False) -> str:
        timestamp = self.chain.time_ms // 1_000 + 1  # the block this goes in
        definitions = issuer.definitions.to_json() if first else b""
        message = PublishZkIssuer(ISSUER, definitions, issuer.status(revoked, timestamp))
        return self(BANK, message)

    def prove(
        self,
        issuer: Issuer,
        holder: Holder,
        level_min: int = IdentityLevel.STANDARD,
        age_min: int = 18,
        *,
        sender: Wallet = HOLDER,
    ) -> bytes:
        """The holder's proof for `sender`'s next transaction, against the current list."""
        stored = self.chain.state.reader.get(keys.status_list(ISSUER_ID))
        assert stored is not None
        born_by = records.born_by(self.chain.time_ms + 1_000, age_min)
        nonce = records.proof_nonce(CHAIN_ID, sender.address, self.next_nonce(sender))
        statement = zk.Statement(ISSUER, level_min, born_by)
        return zk.prove(
            holder.credential,
            holder.secret,
            statement,
            nonce,
            issuer.definitions,
            stored,
            issuer.tails,
        )


def test_a_valid_proof_is_accepted_and_reveals_neither_credential_nor_did(
    issuer: Issuer, holder: Holder
) -> None:
    run = Run()
    assert run.publish(issuer, [], first=True) == "ok"
    presentation = run.prove(issuer, holder)
    assert (
        run(HOLDER, ProveKyc(ISSUER, IdentityLevel.STANDARD, 18, presentation), PROOF_FEE) == "ok"
    )
    attestation = records.read_attestation(run.chain.state.reader, HOLDER.address)
    assert attestation is not None
    assert (attestation.issuer, attestation.level_min, attestation.born_by) == (
        ISSUER,
        IdentityLevel.STANDARD,
        20080601,  # 18 years before the block's date, 1 June 2026
    )
    # The proof names the issuer's definitions, not the holder: no DID, no attribute value.
    text = presentation.decode()
    assert did(HOLDER) not in text and "19900115" not in text
    assert json.loads(text)["requested_proof"]["revealed_attrs"] == {}


def test_forged_replayed_taken_over_and_other_statement_proofs_change_nothing_but_the_fee(
    issuer: Issuer, holder: Holder
) -> None:
    run = Run()
    assert run.publish(issuer, [], first=True) == "ok"
    level = IdentityLevel.STANDARD
    presentation = run.prove(issuer, holder)
    document = json.loads(presentation)
    eq_proof = document["proof"]["proofs"][0]["primary_proof"]["eq_proof"]
    digits = eq_proof["e"]
    eq_proof["e"] = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    forged = json.dumps(document).encode()
    before = run.chain.ledger.items
    steps = [
        (ProveKyc(ISSUER, level, 18, forged), "privacy.proof_invalid"),
        # the same proof for a stronger claim than it proves
        (ProveKyc(ISSUER, IdentityLevel.FULL, 18, presentation), "privacy.statement_mismatch"),
        (ProveKyc(ISSUER, level, 21, presentation), "privacy.statement_mismatch"),
        (ProveKyc(ISSUER, level, 0, presentation), "privacy.statement_mismatch"),
    ]
    for step, (message, expected) in enumerate(steps):
        assert run(HOLDER, message, PROOF_FEE) == expected, step
    after = run.chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert all(not key.startswith(b"\x0f") for key in changed)
    flx = bank_queries.balance(run.chain.state.reader, HOLDER.address, Denom.FLX)
    assert flx == bank_queries.balance(MemoryReader(before), HOLDER.address, Denom.FLX) - 4 * (
        PROOF_FEE
    )
    # A proof answers the nonce of the transaction it was made for: sent by another account,
    # or by its holder in a later transaction, it does not verify; once accepted it is spent.
    message = ProveKyc(ISSUER, level, 18, run.prove(issuer, holder))
    assert run(THIEF, message, PROOF_FEE) == "privacy.proof_invalid"
    assert run(HOLDER, message, PROOF_FEE) == "ok"
    assert run(HOLDER, message, PROOF_FEE) == "privacy.proof_replayed"
    assert run(THIEF, message, PROOF_FEE) == "privacy.proof_replayed"
    late = ProveKyc(ISSUER, level, 18, run.prove(issuer, holder))
    assert run(HOLDER, steps[0][0], PROOF_FEE) == "privacy.proof_invalid"
    assert run(HOLDER, late, PROOF_FEE) == "privacy.proof_invalid"
    # A credential short of the claim cannot even be proved.
    with pytest.raises(zk.ProofError):
        run.prove(issuer, holder, IdentityLevel.FULL)


def test_a_revoked_credential_is_refused(issuer: Issuer, holder: Holder) -> None:
    run = Run()
    assert run.publish(issuer, [], first=True) == "ok"
    presentation = run.prove(issuer, holder)
    # The issuer revokes the holder's W3C credential; until its AnonCreds list follows, no
    # proof against that list is taken, and a list that still holds the index is refused.
    assert run(BANK, RevokeCredential(ISSUER, INDEX)) == "ok"
    message = ProveKyc(ISSUER, IdentityLevel.STANDARD, 18, presentation)
    assert run(HOLDER, message, PROOF_FEE) == "privacy.status_outdated"
    assert run.publish(issuer, []) == "privacy.status_list_lags_revocations"
    assert run.publish(issuer, [INDEX]) == "ok"
    assert run(HOLDER, message, PROOF_FEE) == "privacy.status_outdated"  # proved the old list
    # The library makes a proof for a revoked credential all the same; it does not verify.
    fresh = ProveKyc(ISSUER, IdentityLevel.STANDARD, 18, run.prove(issuer, holder))
    assert run(HOLDER, fresh, PROOF_FEE) == "privacy.proof_invalid"
    assert records.read_attestation(run.chain.state.reader, HOLDER.address) is None


def test_publish_ladder_is_pinned(issuer: Issuer) -> None:
    run = Run()
    outsider = Wallet.of(4)
    assert run(outsider, CreateDid((), ())) == "ok"
    status = issuer.status([])
    definitions = issuer.definitions.to_json()
    future = issuer.status([], GENESIS_S + 3_600)
    listed = json.loads(status)
    short = json.dumps({**listed, "revocationList": listed["revocationList"][:-1]}).encode()
    steps = [
        (BANK, PublishZkIssuer("did:web:bank", definitions, status), "privacy.issuer_invalid"),
        (
            outsider,
            PublishZkIssuer(did(outsider), definitions, status),
            "privacy.issuer_not_authority",
        ),
        (outsider, PublishZkIssuer(ISSUER, definitions, status), "privacy.not_controller"),
        (BANK, PublishZkIssuer(ISSUER, b"{}", status), "privacy.definitions_malformed"),
        (BANK, PublishZkIssuer(ISSUER, b"", status), "privacy.definitions_missing"),
        (BANK, PublishZkIssuer(ISSUER, definitions, b"[1]"), "privacy.status_list_malformed"),
        (BANK, PublishZkIssuer(ISSUER, definitions, short), "privacy.status_list_malformed"),
        (BANK, PublishZkIssuer(ISSUER, definitions, future), "privacy.status_list_time_invalid"),
        (BANK, PublishZkIssuer(ISSUER, definitions, status), "ok"),
        (BANK, PublishZkIssuer(ISSUER, definitions, status), "privacy.definitions_exist"),
        (BANK, PublishZkIssuer(ISSUER, b"", status), "privacy.status_list_time_invalid"),
    ]
    for step, (sender, message, expected) in enumerate(steps):
        assert run(sender, message) == expected, (step, expected)


def test_prove_ladder_is_pinned(issuer: Issuer, holder: Holder) -> None:
    run = Run({"proofs_per_block_max": 1})
    level = IdentityLevel.STANDARD
    junk = b'{"proof": {}}'
    steps = [
        (ProveKyc("did:web:bank", level, 18, junk), PROOF_FEE, "privacy.issuer_invalid"),
        (ProveKyc(ISSUER, 0, 18, junk), PROOF_FEE, "privacy.statement_invalid"),
        (ProveKyc(ISSUER, level, 151, junk), PROOF_FEE, "privacy.statement_invalid"),
        (ProveKyc(ISSUER, level, 18, junk), PROOF_FEE - 1, "privacy.fee_below_proof_fee"),
        (ProveKyc(ISSUER, level, 18, junk), PROOF_FEE, "privacy.issuer_not_found"),
    ]
    for step, (message, fee, expected) in enumerate(steps):
        assert run(HOLDER, message, fee) == expected, (step, expected)
    assert run.publish(issuer, [], first=True) == "ok"
    assert (
        run(HOLDER, ProveKyc(ISSUER, level, 18, junk), PROOF_FEE)
        == "privacy.presentation_malformed"
    )
    # Two proofs in one block: the second is refused unverified.
    first = run.prove(issuer, holder)
    second = run.prove(issuer, holder, sender=THIEF)
    txs = [
        HOLDER.tx(run.next_nonce(HOLDER), ProveKyc(ISSUER, level, 18, first), fee=PROOF_FEE),
        THIEF.tx(run.next_nonce(THIEF), ProveKyc(ISSUER, level, 18, second), fee=PROOF_FEE),
    ]
    codes = [name_of(receipt.code) for receipt in run.chain.run(txs).receipts]
    for wallet in (HOLDER, THIEF):
        run.nonces.next[wallet.public_key] = run.next_nonce(wallet) + 1
    assert codes == ["ok", "privacy.block_proofs_full"]
    # An issuer that is no longer an authority (its DID deactivated) backs no proof.
    assert run(BANK, DeactivateDid(ISSUER)) == "ok"
    assert (
        run(HOLDER, ProveKyc(ISSUER, level, 18, junk), PROOF_FEE) == "privacy.issuer_not_authority"
    )


def test_privacy_parameters_round_trip_through_genesis() -> None:
    chain = privacy_chain({"proof_fee_min": 7, "proofs_per_block_max": 2})
    assert export_genesis(chain.state.reader).privacy == PrivacyParams(7, 2)


def test_born_by_is_the_calendar_date_age_years_before() -> None:
    def at(year: int, month: int, day: int) -> int:
        return int(datetime(year, month, day, 12, tzinfo=UTC).timestamp()) * 1_000

    assert records.born_by(at(2026, 6, 2), 18) == 20080602
    assert records.born_by(at(2026, 6, 2), 0) == 0
    # Born on 29 February 2008: not 18 on 28 February 2026, 18 on 1 March.
    assert records.born_by(at(2026, 2, 28), 18) < 20080229
    assert records.born_by(at(2026, 3, 1), 18) >= 20080229


def test_invariants_catch_an_attestation_of_an_unpublished_issuer() -> None:
    chain = privacy_chain()
    items = dict(chain.ledger.items)
    record = records.Attestation(ISSUER, IdentityLevel.STANDARD, 0, 0, GENESIS_MS)
    items[keys.attestation(HOLDER.address.raw)] = encode_value(record.to_wire())
    with pytest.raises(InvariantViolation, match="attestations_name_published_issuers"):
        invariants.attestations_name_published_issuers(MemoryReader(items))
    items[keys.status_list(ISSUER_ID)] = b"{}"
    with pytest.raises(InvariantViolation, match="issuers_are_complete"):
        invariants.issuers_are_complete(MemoryReader(items))


presentations = st.one_of(
    st.binary(max_size=200),
    st.just(b"[" * 5_000),
    st.just(b'{"proof": {"proofs": [{"primary_proof": {"ge_proofs": []}}]}}'),
    st.builds(
        lambda names: json.dumps(
            {
                "proof": {
                    "proofs": [
                        {
                            "primary_proof": {
                                "ge_proofs": [
                                    {"predicate": {"attr_name": n, "p_type": "GE", "value": 1}}
                                    for n in names
                                ]
                            }
                        }
                    ],
                    "aggregated_proof": {"c_hash": "12"},
                },
                "identifiers": [{"timestamp": 1}],
                "requested_proof": {"revealed_attrs": {}},
            }
        ).encode(),
        st.lists(st.one_of(st.none(), st.text(max_size=3), st.integers()), max_size=3),
    ),
    st.builds(
        lambda digits, stamp: json.dumps(
            {
                "proof": {
                    "proofs": [{"primary_proof": {"ge_proofs": []}}],
                    "aggregated_proof": {"c_hash": digits},
                },
                "identifiers": [{"timestamp": stamp}],
                "requested_proof": {"revealed_attrs": {}},
            }
        ).encode(),
        st.text(alphabet="0123456789x", max_size=90),
        st.one_of(st.integers(), st.text(max_size=3), st.none()),
    ),
)


@given(presentation=presentations, level=st.integers(0, 6), age=st.integers(0, 200))
@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
def test_hostile_presentations_get_a_code_and_change_nothing(
    published: Run, presentation: bytes, level: int, age: int
) -> None:
    before = published.chain.ledger.items
    code = published(HOLDER, ProveKyc(ISSUER, level, age, presentation), PROOF_FEE)
    assert code.startswith("privacy.")
    after = published.chain.ledger.items
    assert {key for key in after if key[:1] == b"\x0f"} == {
        key for key in before if key[:1] == b"\x0f"
    }


@pytest.fixture(scope="module")
def published(issuer: Issuer) -> Run:
    run = Run()
    assert run.publish(issuer, [], first=True) == "ok"
    return run
