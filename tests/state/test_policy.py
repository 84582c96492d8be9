"""state.policy: BISO policy documents, their registration (codes for every bad document, fee
only), the Green/Yellow/Red table of the evaluator, regions and the executor draw, and
governance's containment of an app."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.crypto import ed25519
from metanode.errors import DecodeError, InvariantViolation, NotBuiltError
from metanode.state.apps.assignment import current
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import from_tree
from metanode.state.genesis.state import export_genesis
from metanode.state.governance import queries as governance_queries
from metanode.state.governance.records import Status
from metanode.state.invariants import check_all
from metanode.state.policy import errors, queries
from metanode.state.policy.document import (
    Classification,
    PolicyDocument,
    PolicyRefused,
    decode_document,
    sign,
)
from metanode.state.policy.evaluate import RULE_NAMES, CallRequest, Light, evaluate
from metanode.state.policy.invariants import containment_names_apps, versions_are_complete
from metanode.state.policy.records import read_policy, write_policy
from metanode.state.policy.routing import RoutingRecord, route
from metanode.state.policy.rules import set_containment
from metanode.state.view import Overlay
from metanode.types import AppContainment, CallApp, DeclareRegion, DeployApp, RegisterPolicy
from tests.conftest import examples
from tests.state.support import COIN, Chain, Wallet, genesis_tree, seed, validator_wallet
from tests.state.test_apps import CALLER, COUNTER, COUNTER_ID, LIMIT, OWNER, PRICE, Apps
from tests.state.test_governance import (
    BANK_NODE,
    VOTING,
    chain_of,
    pass_proposal,
    run_until_height,
    submit,
)

BASE = PolicyDocument(
    app_id=COUNTER_ID,
    number=1,
    classification=Classification.INTERNAL,
    allowed_regions=("eu-central", "eu-west"),
    blocked_regions=("us-east",),
    purposes=("analytics", "billing"),
    data_types=("email", "usage"),
    review_data_types=("health",),
    consent_required=True,
    encrypt_in_transit=True,
    encrypt_at_rest=True,
    retention_days=30,
)
GOOD = CallRequest("eu-west", "billing", ("usage",), "consent-receipt-1", "https")


def key_of(wallet: Wallet) -> ed25519.PrivateKey:
    return ed25519.PrivateKey.from_seed(bytes(wallet.key))


def registration(document: PolicyDocument | bytes, signer: Wallet = OWNER) -> RegisterPolicy:
    data = document if isinstance(document, bytes) else document.encode()
    return RegisterPolicy(data, signer.public_key, sign(key_of(signer), data))


# The policy table: (what differs from BASE or GOOD, the light, the deciding rule).
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], Light, str]] = [
    ("a request that meets every rule", {}, {}, Light.GREEN, "allowed"),
    ("no region, regions named", {}, {"region": None}, Light.RED, "region_missing"),
    ("a blocked region", {}, {"region": "us-east"}, Light.RED, "region_blocked"),
    ("a region not allowed", {}, {"region": "ap-south"}, Light.RED, "region_not_allowed"),
    ("any region when none named", {"allowed_regions": (), "blocked_regions": ()},
     {"region": None}, Light.GREEN, "allowed"),
    ("only a block list", {"allowed_regions": ()}, {"region": "ap-south"}, Light.GREEN,
     "allowed"),
    ("no purpose", {}, {"purpose": None}, Light.RED, "purpose_missing"),
    ("a purpose not allowed", {}, {"purpose": "marketing"}, Light.RED, "purpose_not_allowed"),
    ("any purpose when none listed", {"purposes": ()}, {"purpose": "marketing"}, Light.GREEN,
     "allowed"),
    ("a data type not allowed", {}, {"data_types": ("usage", "location")}, Light.RED,
     "data_type_not_allowed"),
    ("no data types at all", {}, {"data_types": ()}, Light.GREEN, "allowed"),
    ("no consent proof", {}, {"consent": None}, Light.RED, "consent_missing"),
    ("no consent needed", {"consent_required": False}, {"consent": None}, Light.GREEN,
     "allowed"),
    ("no transport named", {}, {"transport": None}, Light.RED, "transport_missing"),
    ("a plaintext transport", {}, {"transport": "http"}, Light.RED, "transport_unencrypted"),
    ("plaintext allowed", {"encrypt_in_transit": False}, {"transport": "http"}, Light.GREEN,
     "allowed"),
    ("a data type under review", {}, {"data_types": ("health", "usage")}, Light.YELLOW,
     "data_type_review"),
    ("restricted data", {"classification": Classification.RESTRICTED}, {}, Light.YELLOW,
     "classification_restricted"),
    ("confidential, unencrypted at rest",
     {"classification": Classification.CONFIDENTIAL, "encrypt_at_rest": False}, {},
     Light.YELLOW, "at_rest_unencrypted"),
    ("confidential, encrypted at rest", {"classification": Classification.CONFIDENTIAL}, {},
     Light.GREEN, "allowed"),
    ("red beats yellow", {}, {"data_types": ("health",), "consent": None}, Light.RED,
     "consent_missing"),
    ("the first red rule decides", {}, {"region": "us-east", "purpose": None,
     "transport": "http"}, Light.RED, "region_blocked"),
    ("an empty request", {}, {"region": None, "purpose": None, "data_types": (),
     "consent": None, "transport": None}, Light.RED, "region_missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document_changes", "request_changes", "light", "rule"),
    [case[1:] for case in TABLE],
    ids=[case[0] for case in TABLE],
)
def test_the_policy_table(
    document_changes: dict[str, Any], request_changes: dict[str, Any], light: Light, rule: str
) -> None:
    decision = evaluate(replace(BASE, **document_changes), replace(GOOD, **request_changes))
    assert (decision.light, decision.rule) == (light, rule)
    assert decision.detail


def test_every_rule_of_the_evaluator_is_in_the_table() -> None:
    assert {case[4] for case in TABLE} == {*RULE_NAMES, "allowed"}


names = st.text(alphabet="abcdefgh-", min_size=1, max_size=6).filter(lambda t: t[0] != "-")


@settings(max_examples=examples(60), deadline=None)
@given(
    region=st.none() | names | st.text(max_size=8),
    purpose=st.none() | names | st.text(max_size=8),
    data_types=st.lists(st.text(max_size=8), max_size=3).map(tuple),
    transport=st.none() | st.sampled_from(["https", "http", "wss", "", '"; permit']),
)
def test_any_request_gets_a_light_and_the_same_one_twice(
    region: str | None, purpose: str | None, data_types: tuple[str, ...], transport: str | None
) -> None:
    request = CallRequest(region, purpose, data_types, None, transport)
    first = evaluate(BASE, request)
    assert first == evaluate(BASE, request)
    assert first.light is Light.RED  # no consent proof: whatever else, Red
    assert first.rule in RULE_NAMES


def test_a_document_round_trips_and_is_canonical() -> None:
    assert decode_document(BASE.encode()) == BASE


BAD_DOCUMENTS: list[tuple[str, bytes, int]] = [
    ("not CBOR", b"\xff\x00", errors.DOCUMENT_MALFORMED),
    ("a field too many", encode([*BASE.to_wire(), "extra"]), errors.UNKNOWN_FIELD),
    ("a field short", encode(BASE.to_wire()[:-1]), errors.DOCUMENT_MALFORMED),
    ("version 2", encode([2, *BASE.to_wire()[1:]]), errors.DOCUMENT_VERSION_UNKNOWN),
    ("a region allowed and blocked",
     replace(BASE, blocked_regions=("eu-west",)).encode(), errors.CONTRADICTION),
    ("a data type plain and under review",
     replace(BASE, review_data_types=("email",)).encode(), errors.CONTRADICTION),
    ("an upper-case region", replace(BASE, allowed_regions=("EU",)).encode(),
     errors.NAME_INVALID),
    ("a quote in a purpose", replace(BASE, purposes=('a"b',)).encode(), errors.NAME_INVALID),
    ("unsorted regions", replace(BASE, allowed_regions=("eu-west", "eu-central")).encode(),
     errors.DOCUMENT_MALFORMED),
    ("classification 9", encode([*BASE.to_wire()[:3], 9, *BASE.to_wire()[4:]]),
     errors.DOCUMENT_MALFORMED),
    ("consent as a number", encode([*BASE.to_wire()[:9], 1, *BASE.to_wire()[10:]]),
     errors.DOCUMENT_MALFORMED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "code"), [case[1:] for case in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS]
)
def test_a_bad_document_is_refused_with_its_code_and_costs_only_the_fee(
    data: bytes, code: int
) -> None:
    with pytest.raises(PolicyRefused) as refused:
        decode_document(data)
    assert refused.value.code == code
    apps = Apps()
    assert apps.deploy() == OK
    assert apps.send(OWNER, registration(data)) == code
    assert queries.policy(apps.reader, COUNTER_ID) is None


def test_registration_ladder_signature_signer_app_and_versions() -> None:
    apps = Apps()
    assert apps.send(OWNER, registration(BASE)) == errors.APP_UNKNOWN
    assert apps.deploy() == OK
    forged = replace(registration(BASE), signature=bytes(64))
    assert apps.send(OWNER, forged) == errors.BAD_SIGNATURE
    # Anyone may carry a policy, but only the owner's (or an authority's) signature counts.
    assert apps.send(CALLER, registration(BASE, signer=CALLER)) == errors.SIGNER_NOT_ALLOWED
    assert apps.send(CALLER, registration(replace(BASE, number=2))) == errors.VERSION_NOT_NEXT
    assert apps.send(CALLER, registration(BASE)) == OK
    second = replace(BASE, number=2, purposes=("billing",))
    assert apps.send(OWNER, registration(BASE)) == errors.VERSION_NOT_NEXT
    assert apps.send(OWNER, registration(second)) == OK
    found = queries.policy(apps.reader, COUNTER_ID)
    assert found is not None and (found.version, found.document) == (2, second)
    first = queries.policy(apps.reader, COUNTER_ID, 1)
    assert first is not None and first.document == BASE  # earlier versions stay on record
    assert first.signed.signer_address == OWNER.address


def test_an_authority_node_may_sign_an_app_s_policy() -> None:
    chain = chain_of()
    (deployed,) = chain.run([OWNER.tx(0, DeployApp(COUNTER, 1, PRICE, LIMIT))]).receipts
    assert deployed.code == OK
    (receipt,) = chain.run([OWNER.tx(1, registration(BASE, signer=BANK_NODE))]).receipts
    assert name_of(receipt.code) == "ok"


def regions_chain(regions: list[str | None]) -> Chain:
    tree = genesis_tree(validators=len(regions))
    tree["accounts"] += [
        {"address": str(validator_wallet(i).address), "balances": {"FLX": COIN}}
        for i in range(len(regions))
    ]
    chain = Chain(from_tree(tree))
    declared = [
        validator_wallet(i).tx(0, DeclareRegion(region))
        for i, region in enumerate(regions)
        if region is not None
    ]
    assert all(r.code == OK for r in chain.run(declared).receipts)
    (receipt,) = chain.run([OWNER.tx(0, DeployApp(COUNTER, 2, PRICE, LIMIT))]).receipts
    assert receipt.code == OK
    return chain


def test_declare_region_needs_a_node_and_a_name() -> None:
    chain = regions_chain(["eu-west"])
    assert queries.region(chain.state.reader, validator_wallet(0).address) == "eu-west"
    (stranger, bad) = chain.run(
        [CALLER.tx(0, DeclareRegion("eu-west")), validator_wallet(0).tx(1, DeclareRegion("EU"))]
    ).receipts
    assert (stranger.code, bad.code) == (errors.NODE_UNKNOWN, errors.REGION_INVALID)


def test_executor_draws_keep_to_the_regions_a_policy_allows() -> None:
    chain = regions_chain(["eu-west", "us-east", "eu-central", None])
    validators = [validator_wallet(i).address for i in range(4)]
    _epoch, before = current(chain.state.reader, COUNTER_ID)
    assert len(before) == 2
    (receipt,) = chain.run([OWNER.tx(1, registration(BASE))]).receipts
    assert receipt.code == OK
    for _ in range(6):  # an epoch per block here: six fresh draws
        _epoch, drawn = current(chain.state.reader, COUNTER_ID)
        assert set(drawn) == {validators[0], validators[2]}  # eu-west, eu-central
        chain.run([])
    nowhere = replace(BASE, number=2, allowed_regions=("ap-south",), blocked_regions=())
    (receipt,) = chain.run([OWNER.tx(2, registration(nowhere))]).receipts
    assert receipt.code == OK
    assert current(chain.state.reader, COUNTER_ID)[1] == ()
    call = CALLER.tx(0, _call())
    (refused,) = chain.run([call]).receipts
    assert refused.code == errors.NO_EXECUTOR_IN_REGION


def _call() -> CallApp:
    return CallApp(COUNTER_ID, 0, "increment", b"", 1_000)


def test_governance_contains_an_app_and_releases_it_while_the_chain_goes_on() -> None:
    chain = chain_of()
    caller = Wallet.of(2)
    (deployed,) = chain.run([OWNER.tx(0, DeployApp(COUNTER, 1, PRICE, LIMIT))]).receipts
    assert deployed.code == OK
    contain = pass_proposal(chain, AppContainment(COUNTER_ID, True), 0)
    run_until_height(chain, chain.state.height + VOTING + 1)
    proposal = governance_queries.proposal(chain.state.reader, contain)
    assert proposal is not None and proposal.status is Status.EXECUTED
    assert queries.contained(chain.state.reader, COUNTER_ID) is not None
    height = chain.state.height
    (refused,) = chain.run([caller.tx(0, _call())]).receipts
    assert refused.code == errors.APP_CONTAINED
    assert chain.state.height == height + 1  # blocks go on
    release = pass_proposal(chain, AppContainment(COUNTER_ID, False), 1)
    run_until_height(chain, chain.state.height + VOTING + 1)
    proposal = governance_queries.proposal(chain.state.reader, release)
    assert proposal is not None and proposal.status is Status.EXECUTED
    (called,) = chain.run([caller.tx(1, _call())]).receipts
    assert called.code == OK


def test_containing_an_unknown_app_is_refused_at_submission() -> None:
    chain = chain_of()
    unknown = AppContainment(seed("no app")[:32], True)
    (receipt,) = chain.run([Wallet.of(1).tx(0, submit(unknown))]).receipts
    assert receipt.code == errors.APP_UNKNOWN


def test_invariants_catch_a_version_gap_and_containment_of_no_app() -> None:
    apps = Apps()
    assert apps.deploy() == OK
    assert apps.send(OWNER, registration(BASE)) == OK
    check_all(apps.reader)
    gap = Overlay(apps.reader)
    write_policy(gap, COUNTER_ID, 3, read_policy(apps.reader, COUNTER_ID, 1))  # type: ignore[arg-type]
    with pytest.raises(InvariantViolation, match="versions_are_complete"):
        versions_are_complete(gap)
    stray = Overlay(apps.reader)
    set_containment(stray, AppContainment(seed("no app"), True), 1)
    with pytest.raises(InvariantViolation, match="containment_names_apps"):
        containment_names_apps(stray)


def test_exporting_a_state_with_regions_is_refused_not_dropped() -> None:
    chain = regions_chain(["eu-west"])
    with pytest.raises(NotBuiltError, match="regions"):
        export_genesis(chain.state.reader)


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=6)
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=14),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(value=cbor_values, mutate=st.integers(0, 12))
def test_any_document_bytes_decode_or_are_refused_with_a_policy_code(
    value: Any, mutate: int
) -> None:
    """Random values, and BASE with one field replaced by one: a document or a code."""
    wire = BASE.to_wire()
    for data in (encode(value), encode([*wire[:mutate], value, *wire[mutate + 1 :]])):
        try:
            decode_document(data)
        except PolicyRefused as refused:
            assert name_of(refused.code).startswith("policy.")
            assert refused.detail


def test_route_lights_by_containment_then_policy_and_records_sign_what_they_say() -> None:
    chain = chain_of()
    (deployed,) = chain.run([OWNER.tx(0, DeployApp(COUNTER, 1, PRICE, LIMIT))]).receipts
    assert deployed.code == OK
    plain = route(chain.state.reader, COUNTER_ID, CallRequest())
    assert (plain.decision.light, plain.decision.rule, plain.policy_version) == (
        Light.GREEN,
        "no_policy",
        0,
    )
    (registered,) = chain.run([OWNER.tx(1, registration(BASE))]).receipts
    assert registered.code == OK
    lit = route(chain.state.reader, COUNTER_ID, replace(GOOD, data_types=("health",)))
    assert (lit.decision.rule, lit.policy_version) == ("data_type_review", 1)
    pass_proposal(chain, AppContainment(COUNTER_ID, True), 0)
    run_until_height(chain, chain.state.height + VOTING + 1)
    contained = route(chain.state.reader, COUNTER_ID, GOOD)
    assert (contained.decision.light, contained.decision.rule) == (Light.RED, "app_contained")
    key = key_of(Wallet.of(9))
    record = RoutingRecord.of(lit, COUNTER_ID, seed("tx"), 7, GOOD)
    signature = record.sign(key)
    assert RoutingRecord.decode(record.encode()) == record
    assert record.verify(key.public_key, signature)
    assert not replace(record, light=Light.GREEN).verify(key.public_key, signature)
    with pytest.raises(DecodeError):
        RoutingRecord.decode(encode([2, *record.encode()[1:2]]))
