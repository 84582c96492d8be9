"""identity: DIDs created, updated, rotated and deactivated by transactions (guard ladders
pinned), DID documents in W3C DID Core shape, KYC credentials registered only from authorities
with a verified eddsa-jcs-2022 proof, revocation by status list bit, the registry's identity
check with its fallback when a credential expires or is revoked, and the genesis round trip.
Every block runs every invariant (support.Chain)."""

from __future__ import annotations

import json
from typing import Any

from metanode.crypto import data_integrity, ed25519
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import name_of
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis, genesis_writes
from metanode.state.identity import credentials as vc
from metanode.state.identity import queries
from metanode.state.identity.document import resolution_result
from metanode.state.identity.records import did_of_key, status_list_bits
from metanode.state.registry import queries as registry_queries
from metanode.state.registry.records import IdentityLevel
from metanode.state.view import MemoryReader
from metanode.types import (
    CreateDid,
    DeactivateDid,
    Denom,
    NodeType,
    RegisterCredential,
    RegisterNode,
    Relationship,
    RevokeCredential,
    Role,
    RotateDidKey,
    Service,
    UpdateDid,
    VerificationMethod,
)
from tests.state.support import (
    COIN,
    FEE,
    Chain,
    Wallet,
    bls_material,
    genesis_tree,
    seed,
)

BANK = Wallet.of(3)  # a bank authority node from genesis
GENESIS_MS = 1_000_000  # support.genesis_tree's genesis time; blocks add 1 s each
DAY_MS = 86_400_000


def did(wallet: Wallet) -> str:
    return did_of_key(wallet.public_key)


def bank_node() -> dict[str, Any]:
    bls_key, pop = bls_material(30)
    return {
        "node_type": "bank",
        "roles": ["authority"],
        "public_key": BANK.public_key.hex(),
        "bls_public_key": bls_key.hex(),
        "bls_proof_of_possession": pop.hex(),
        "vrf_public_key": seed("vrf", 30).hex(),
        "p2p_address": "bank.example:7000",
        "did": did(BANK),
    }


def identity_chain() -> Chain:
    tree = genesis_tree(
        wallets=6,
        parameters={
            "staking": {"unbonding_delay_blocks": 3},
            "registry": {"role_min_stake": {"validator": str(10 * COIN)}},
        },
    )
    tree["nodes"] = [bank_node()]
    return Chain(from_tree(tree))


class Nonces:
    """Each wallet's next nonce, so a test reads as a list of transactions."""

    def __init__(self) -> None:
        self.next: dict[bytes, int] = {}

    def tx(self, wallet: Wallet, message: Any) -> Any:
        nonce = self.next.get(wallet.public_key, 0)
        self.next[wallet.public_key] = nonce + 1
        return wallet.tx(nonce, message)


def run(chain: Chain, nonces: Nonces, wallet: Wallet, message: Any) -> str:
    return name_of(chain.run([nonces.tx(wallet, message)]).receipts[0].code)


def credential(
    subject: str,
    level: IdentityLevel = IdentityLevel.FULL,
    *,
    index: int = 7,
    issuer: Wallet = BANK,
    signer: Wallet | None = None,
    valid_from_ms: int = GENESIS_MS,
    valid_until_ms: int = GENESIS_MS + DAY_MS,
) -> bytes:
    unsigned = vc.build(did(issuer), subject, level, valid_from_ms, valid_until_ms, index)
    key = ed25519.PrivateKey(bytes((signer or issuer).key))
    signed = data_integrity.sign(
        unsigned,
        key,
        verification_method=f"{did(issuer)}#key-1",
        created=vc.time_text(valid_from_ms),
    )
    return json.dumps(signed).encode()


def test_did_lifecycle_and_its_document() -> None:
    chain, nonces = identity_chain(), Nonces()
    alice, helper = Wallet.of(1), Wallet.of(2)
    service = Service("hub", "LinkedDomains", "https://alice.example")
    assert run(chain, nonces, alice, CreateDid((), (service,))) == "ok"
    name = did(alice)
    document = resolution_result(name, queries.did(chain.state.reader, name))
    doc = document["didDocument"]
    assert doc["id"] == name and doc["controller"] == name
    method = doc["verificationMethod"][0]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"].startswith("z6Mk")
    assert data_integrity.public_key_of(method["publicKeyMultibase"]) == alice.public_key
    assert doc["authentication"] == doc["assertionMethod"] == [f"{name}#key-1"]
    assert doc["service"] == [
        {"id": f"{name}#hub", "type": "LinkedDomains", "serviceEndpoint": "https://alice.example"}
    ]
    assert document["didDocumentMetadata"]["deactivated"] is False
    # Update: add the helper's key for authentication, drop the service.
    added = VerificationMethod("key-2", helper.public_key, Relationship.AUTHENTICATION)
    assert run(chain, nonces, alice, UpdateDid(name, (added,), (), (), ("hub",))) == "ok"
    # The helper's key now controls it: it rotates key-1 to a fresh key.
    fresh = Wallet.of(5)
    assert run(chain, nonces, helper, RotateDidKey(name, "key-1", fresh.public_key)) == "ok"
    record = queries.did(chain.state.reader, name)
    assert record.method("key-1").public_key == fresh.public_key and record.version == 3
    # Alice's old key no longer controls it.
    assert run(chain, nonces, alice, DeactivateDid(name)) == "identity.not_controller"
    assert run(chain, nonces, fresh, DeactivateDid(name)) == "ok"
    result = resolution_result(name, queries.did(chain.state.reader, name))
    assert result["didDocumentMetadata"]["deactivated"] is True
    assert resolution_result("did:metanode:0OIl", None)["didResolutionMetadata"] == {
        "error": "invalidDid"
    }


def test_did_ladders_are_pinned() -> None:
    chain, nonces = identity_chain(), Nonces()
    alice, bob = Wallet.of(1), Wallet.of(2)
    name = did(alice)
    key_2 = VerificationMethod("key-2", bob.public_key, Relationship.AUTHENTICATION)
    key_2_again = VerificationMethod("key-2", Wallet.of(4).public_key, Relationship.ASSERTION)
    steps = [
        (alice, CreateDid(("did:metanode:x",), ()), "identity.controller_invalid"),
        (alice, CreateDid((), (Service("a b", "t", "https://x"),)), "identity.service_invalid"),
        (alice, CreateDid((did(bob),), ()), "identity.controller_not_found"),
        (alice, CreateDid((), ()), "ok"),
        (alice, CreateDid((), ()), "identity.did_exists"),
        (alice, UpdateDid("did:web:x", (), (), (), ()), "identity.did_invalid"),
        (
            alice,
            UpdateDid(
                name, (VerificationMethod("k", bob.public_key, Relationship(0)),), (), (), ()
            ),
            "identity.method_invalid",
        ),
        (alice, UpdateDid(name, (), (), (), ("s", "s")), "identity.service_invalid"),
        (alice, UpdateDid(did(bob), (), (), (), ()), "identity.did_not_found"),
        (bob, UpdateDid(name, (), (), (), ()), "identity.not_controller"),
        (alice, UpdateDid(name, (), ("key-9",), (), ()), "identity.method_unknown"),
        (alice, UpdateDid(name, (), (), (), ("s",)), "identity.service_unknown"),
        (
            alice,
            UpdateDid(name, (key_2,), (), (Service("key-2", "t", "https://x"),), ()),
            "identity.fragment_in_use",
        ),
        (alice, UpdateDid(name, (), ("key-1",), (), ()), "identity.no_authentication_method"),
        (alice, UpdateDid(name, (key_2,), (), (), ()), "ok"),
        (alice, UpdateDid(name, (key_2_again,), (), (), ()), "identity.fragment_in_use"),
        (alice, RotateDidKey(name, "key 1", bob.public_key), "identity.method_invalid"),
        (alice, RotateDidKey(name, "key-7", Wallet.of(4).public_key), "identity.method_unknown"),
        (alice, RotateDidKey(name, "key-1", bob.public_key), "identity.key_unchanged"),
        (alice, DeactivateDid("did:metanode:"), "identity.did_invalid"),
        (alice, DeactivateDid(name), "ok"),
        (alice, DeactivateDid(name), "identity.did_deactivated"),
    ]
    for step, (sender, message, expected) in enumerate(steps):
        assert run(chain, nonces, sender, message) == expected, (step, expected)


def test_a_document_is_bounded() -> None:
    chain, nonces = identity_chain(), Nonces()
    alice = Wallet.of(1)
    services = tuple(Service(f"s{i}", "t", "https://x") for i in range(8))
    assert run(chain, nonces, alice, CreateDid((), services)) == "ok"
    extra = Service("s9", "t", "https://x")
    assert run(chain, nonces, alice, UpdateDid(did(alice), (), (), (extra,), ())) == (
        "identity.document_full"
    )


def register_node(did_text: str) -> RegisterNode:
    bls_key, pop = bls_material(44)
    return RegisterNode(
        NodeType.ENTERPRISE,
        (Role.VALIDATOR,),
        bls_key,
        pop,
        seed("vrf", 44),
        "node.example:7000",
        did_text,
        10 * COIN,
    )


def test_full_kyc_lets_a_node_register_and_expiry_or_revocation_lowers_its_level() -> None:
    chain, nonces = identity_chain(), Nonces()
    node, stranger = Wallet.of(1), Wallet.of(2)
    assert run(chain, nonces, BANK, CreateDid((), ())) == "ok"
    assert run(chain, nonces, node, CreateDid((), ())) == "ok"
    # Without a credential the DID's level is none: enterprise needs full.
    assert run(chain, nonces, node, register_node(did(node))) == "registry.identity_level_too_low"
    # Another's DID, however well credentialed, is not the sender's to name.
    full = credential(did(node), IdentityLevel.FULL, index=1, valid_until_ms=GENESIS_MS + 60_000)
    basic = credential(did(node), IdentityLevel.BASIC, index=2)
    assert run(chain, nonces, stranger, RegisterCredential(full)) == "ok"  # anyone may carry it
    assert run(chain, nonces, node, RegisterCredential(basic)) == "ok"
    now = chain.time_ms + 1_000
    assert queries.level_of(chain.state.reader, did(node), now) is IdentityLevel.FULL
    assert run(chain, nonces, stranger, register_node(did(node))) == "registry.did_not_controlled"
    assert run(chain, nonces, node, register_node(did(node))) == "ok"
    record = registry_queries.node(chain.state.reader, node.address)
    reader = chain.state.reader
    assert registry_queries.identity_level(reader, record, now) is IdentityLevel.FULL
    # The full credential expires a minute after genesis: the node falls back to basic.
    later = GENESIS_MS + 60_000
    assert registry_queries.identity_level(reader, record, later) is IdentityLevel.BASIC
    # The bank revokes the basic one: nothing is left.
    assert run(chain, nonces, BANK, RevokeCredential(did(BANK), 2)) == "ok"
    reader = chain.state.reader
    assert registry_queries.identity_level(reader, record, later) is IdentityLevel.NONE
    assert run(chain, nonces, BANK, RevokeCredential(did(BANK), 2)) == "identity.credential_revoked"


def test_register_credential_ladder_is_pinned() -> None:
    chain, nonces = identity_chain(), Nonces()
    subject, carrier, impostor = Wallet.of(1), Wallet.of(2), Wallet.of(4)
    for wallet in (subject, impostor):
        assert run(chain, nonces, wallet, CreateDid((), ())) == "ok"
    bad_shape = json.loads(credential(did(subject)))
    bad_shape["credentialSubject"]["kycLevel"] = "platinum"
    wrong_method = json.loads(credential(did(subject)))
    wrong_method["proof"]["verificationMethod"] = f"{did(BANK)}#key-2"
    too_big = json.loads(credential(did(subject)))
    too_big["credentialSubject"]["score"] = 2**60  # no JCS form: beyond I-JSON's integers
    tampered = json.loads(credential(did(subject), index=9))
    tampered["credentialSubject"]["kycLevel"] = "basic"
    steps = [
        (b"{not json", "identity.credential_malformed"),
        (json.dumps(bad_shape).encode(), "identity.credential_malformed"),
        (json.dumps(too_big).encode(), "identity.credential_malformed"),
        (credential(did(subject)), "identity.issuer_not_found"),
        (None, "create the bank's DID"),
        (credential(did(subject), issuer=impostor), "identity.issuer_not_authority"),
        (json.dumps(wrong_method).encode(), "identity.verification_method_invalid"),
        (credential(did(carrier)), "identity.subject_not_found"),
        (
            credential(
                did(subject),
                valid_from_ms=GENESIS_MS + DAY_MS,
                valid_until_ms=GENESIS_MS + 2 * DAY_MS,
            ),
            "identity.credential_not_yet_valid",
        ),
        (
            credential(did(subject), valid_until_ms=GENESIS_MS + 1_000),
            "identity.credential_expired",
        ),
        (credential(did(subject), index=3), "ok"),
        (credential(did(subject), index=3), "identity.credential_already_registered"),
        (None, "revoke index 5"),
        (credential(did(subject), index=5), "identity.credential_revoked"),
        (credential(did(subject), IdentityLevel.BASIC, index=3), "identity.status_index_in_use"),
        (json.dumps(tampered).encode(), "identity.proof_invalid"),
        (credential(did(subject), signer=impostor, index=4), "identity.proof_invalid"),
    ]
    for step, (data, expected) in enumerate(steps):
        if data is None:
            message = (
                CreateDid((), ())
                if expected.startswith("create")
                else RevokeCredential(did(BANK), 5)
            )
            assert run(chain, nonces, BANK, message) == "ok"
            continue
        got = run(chain, nonces, carrier, RegisterCredential(data))
        assert got == expected, (step, expected, got)
    assert run(chain, nonces, carrier, RevokeCredential(did(BANK), 5)) == "identity.not_controller"
    assert run(chain, nonces, BANK, RevokeCredential(did(BANK), status_list_bits)) == (
        "identity.status_index_out_of_range"
    )


def test_rejected_identity_transactions_change_nothing_but_the_fee() -> None:
    chain, nonces = identity_chain(), Nonces()
    alice = Wallet.of(1)
    assert run(chain, nonces, alice, CreateDid((), ())) == "ok"
    before = chain.ledger.items
    rejected = [
        UpdateDid(did(alice), (), ("key-1",), (), ()),
        RegisterCredential(credential(did(alice))),  # the bank has no DID yet
    ]
    codes = [run(chain, nonces, alice, message) for message in rejected]
    assert codes == ["identity.no_authentication_method", "identity.issuer_not_found"]
    after = chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert all(not key.startswith(b"\x06") for key in changed)
    account = chain.state.reader
    flx_before = bank_queries.balance(MemoryReader(before), alice.address, Denom.FLX)
    assert bank_queries.balance(account, alice.address, Denom.FLX) == flx_before - 2 * FEE


def test_genesis_round_trip_with_dids_credentials_and_revocations() -> None:
    chain, nonces = identity_chain(), Nonces()
    alice, bob = Wallet.of(1), Wallet.of(2)
    hub = Service("hub", "LinkedDomains", "https://a.example")
    assert run(chain, nonces, BANK, CreateDid((), ())) == "ok"
    assert run(chain, nonces, alice, CreateDid((), (hub,))) == "ok"
    assert run(chain, nonces, bob, CreateDid((did(alice),), ())) == "ok"
    assert run(chain, nonces, bob, RegisterCredential(credential(did(alice), index=11))) == "ok"
    assert run(chain, nonces, BANK, RevokeCredential(did(BANK), 12)) == "ok"
    assert run(chain, nonces, alice, DeactivateDid(did(bob))) == "ok"  # alice controls bob's DID
    exported = export_genesis(chain.state.reader)
    assert len(exported.identity.dids) == 3 and len(exported.identity.credentials) == 1
    assert exported.identity.revoked == ((did(BANK), (12,)),)
    again = parse_genesis(exported.to_json())
    assert again == exported
    reader = MemoryReader({k: v for k, v in genesis_writes(again) if v is not None})
    assert export_genesis(reader) == exported
