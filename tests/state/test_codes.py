"""Result codes are stored in receipts: this table pins every number and name forever."""

from __future__ import annotations

import pytest

from metanode.errors import InvariantViolation
from metanode.state import codes

PINNED = {
    0: ".ok",
    101: "auth.wrong_chain",
    102: "auth.expired",
    103: "auth.fee_too_low",
    104: "auth.bad_signature",
    105: "auth.nonce_too_low",
    106: "auth.nonce_too_high",
    107: "auth.insufficient_fee_balance",
    201: "bank.amount_must_not_be_zero",
    202: "bank.insufficient_funds",
    203: "bank.recipient_is_module_account",
    204: "bank.supply_overflow",
    301: "staking.amount_must_not_be_zero",
    302: "staking.validator_not_found",
    303: "staking.insufficient_funds",
    304: "staking.insufficient_delegation",
    305: "staking.already_registered",
    306: "staking.bls_key_in_use",
    307: "staking.candidates_full",
    308: "staking.invalid_proof_of_possession",
    309: "staking.hybrid_account_cannot_validate",
    310: "staking.unbonding_queue_full",
    401: "faucet.faucet_disabled",
    402: "faucet.denom_not_allowed",
    403: "faucet.amount_must_not_be_zero",
    404: "faucet.amount_above_request_max",
    405: "faucet.cooldown_active",
    406: "faucet.daily_limit_reached",
    407: "faucet.supply_overflow",
    501: "registry.p2p_address_invalid",
    502: "registry.did_invalid",
    503: "registry.hybrid_account_cannot_register",
    504: "registry.already_registered",
    505: "registry.role_not_allowed",
    506: "registry.identity_level_too_low",
    507: "registry.trust_score_too_low",
    508: "registry.stake_below_minimum",
    509: "registry.insufficient_funds",
    510: "registry.bls_key_in_use",
    511: "registry.registry_full",
    512: "registry.invalid_proof_of_possession",
    513: "registry.evidence_not_same_slot",
    514: "registry.evidence_messages_identical",
    515: "registry.evidence_from_future",
    516: "registry.evidence_too_old",
    517: "registry.evidence_validator_unknown",
    518: "registry.evidence_already_used",
    519: "registry.validator_already_jailed",
    520: "registry.evidence_signature_invalid",
    521: "registry.did_not_controlled",
    522: "registry.evidence_malformed",
    523: "registry.evidence_validator_not_in_set",
    524: "registry.node_not_registered",
    525: "registry.node_already_leaving",
    526: "registry.node_jailed",
    527: "registry.unbonding_queue_full",
    528: "registry.validator_not_jailed",
    529: "registry.jail_is_permanent",
    530: "registry.downtime_jail_not_over",
    531: "registry.light_attack_not_a_conflict",
    532: "registry.light_attack_certificate_invalid",
    533: "registry.light_attack_set_unknown",
    534: "registry.light_attack_amnesia",
    535: "registry.light_attack_no_attacker",
    536: "registry.light_attack_heights_invalid",
    601: "identity.did_invalid",
    602: "identity.controller_invalid",
    603: "identity.method_invalid",
    604: "identity.service_invalid",
    605: "identity.did_exists",
    606: "identity.controller_not_found",
    607: "identity.did_not_found",
    608: "identity.did_deactivated",
    609: "identity.not_controller",
    610: "identity.method_unknown",
    611: "identity.service_unknown",
    612: "identity.fragment_in_use",
    613: "identity.document_full",
    614: "identity.no_authentication_method",
    615: "identity.method_not_authentication",
    616: "identity.key_unchanged",
    617: "identity.credential_malformed",
    618: "identity.issuer_not_found",
    619: "identity.issuer_not_authority",
    620: "identity.verification_method_invalid",
    621: "identity.subject_not_found",
    622: "identity.credential_not_yet_valid",
    623: "identity.credential_expired",
    624: "identity.credential_already_registered",
    625: "identity.credential_revoked",
    626: "identity.status_index_in_use",
    627: "identity.subject_credentials_full",
    628: "identity.proof_invalid",
    629: "identity.status_index_out_of_range",
    701: "governance.title_invalid",
    702: "governance.unknown_parameter",
    703: "governance.value_out_of_range",
    704: "governance.amount_must_not_be_zero",
    705: "governance.recipient_is_module_account",
    706: "governance.upgrade_name_invalid",
    707: "governance.upgrade_height_passed",
    708: "governance.node_not_found",
    709: "governance.node_not_authority_type",
    710: "governance.authority_unchanged",
    711: "governance.spend_above_treasury_balance",
    712: "governance.deposit_too_small",
    713: "governance.insufficient_funds",
    714: "governance.too_many_open_proposals",
    715: "governance.proposal_not_found",
    716: "governance.proposal_closed",
    717: "governance.depositors_full",
    718: "governance.vote_outside_period",
    719: "governance.no_bonded_stake",
    801: "apps.module_too_large",
    802: "apps.module_invalid",
    803: "apps.module_forbidden_import",
    804: "apps.module_start_function",
    805: "apps.replicas_out_of_range",
    806: "apps.fuel_price_too_low",
    807: "apps.fuel_limit_out_of_range",
    808: "apps.app_exists",
    809: "apps.apps_full",
    810: "apps.app_unknown",
    811: "apps.not_owner",
    812: "apps.module_unchanged",
    813: "apps.versions_full",
    814: "apps.version_unknown",
    815: "apps.function_not_exported",
    816: "apps.fuel_above_app_limit",
    817: "apps.escrow_too_large",
    818: "apps.insufficient_funds",
    819: "apps.settle_call_unknown",
    820: "apps.settle_call_already_settled",
    821: "apps.settle_fuel_above_limit",
    822: "apps.settle_no_executors",
    823: "apps.fuel_limit_zero",
    901: "notary.range_invalid",
    902: "notary.leaves_not_in_order",
    903: "notary.range_not_covered",
    904: "notary.range_not_contiguous",
    905: "notary.range_disputed",
    906: "notary.wrong_root",
    907: "notary.signers_invalid",
    908: "notary.notary_power_too_low",
    909: "notary.receipt_already_notarised",
    910: "notary.chain_link_broken",
    911: "notary.aggregate_invalid",
    912: "notary.supply_overflow",
    913: "notary.app_unknown",
    914: "notary.app_version_unknown",
    915: "notary.call_unknown",
    916: "notary.call_version_mismatch",
    917: "notary.executor_not_assigned",
    918: "notary.fuel_above_call_limit",
    919: "notary.receipt_proven_false",
    1201: "court.dispute_unknown",
    1202: "court.receipt_malformed",
    1203: "court.claim_matches_receipt",
    1204: "court.receipt_not_notarised",
    1205: "court.window_closed",
    1206: "court.receipt_already_disputed",
    1207: "court.bond_too_small",
    1208: "court.bond_unfunded",
    1209: "court.disputes_full",
    1210: "court.wrong_stage",
    1211: "court.not_your_turn",
    1212: "court.receipt_not_the_sides",
    1213: "court.move_shape_invalid",
    1214: "court.state_mismatch",
    1215: "court.replay_fuel_exceeded",
    1216: "court.evidence_invalid",
    1217: "court.call_not_replayable",
    1501: "shadow.domain_invalid",
    1502: "shadow.domain_taken",
    1503: "shadow.shadow_unknown",
    1504: "shadow.grant_expiry_passed",
    1505: "shadow.grant_expiry_too_far",
    1506: "shadow.scope_invalid",
    1507: "shadow.grant_unknown",
    1508: "shadow.grant_expired",
    1509: "shadow.out_of_scope",
    1510: "shadow.service_signature_invalid",
    1511: "shadow.receipt_mismatch",
}


def test_the_table_is_pinned() -> None:
    table = {number: f"{code.module}.{code.name}" for number, code in codes.all_codes().items()}
    assert table == PINNED


def test_each_code_sits_in_its_module_range() -> None:
    for number, code in codes.all_codes().items():
        if number == codes.OK:
            continue
        base = codes.MODULE_BASES[code.module]
        assert base < number <= base + codes.MODULE_CODES_MAX


def test_names_and_auth_range() -> None:
    assert codes.name_of(202) == "bank.insufficient_funds"
    assert codes.name_of(0) == "ok"
    assert codes.name_of(999) == "unknown(999)"
    assert codes.is_auth_code(104) and not codes.is_auth_code(202)


def test_registering_a_taken_number_or_name_is_a_bug() -> None:
    codes.all_codes()
    with pytest.raises(InvariantViolation):
        codes.register("bank", 2, "something_else")
    with pytest.raises(InvariantViolation):
        codes.register("bank", 50, "insufficient_funds")
    with pytest.raises(InvariantViolation):
        codes.register("nowhere", 1, "x")
    with pytest.raises(InvariantViolation):
        codes.register("bank", 100, "too_far")
    # Registering the same code again (a module imported twice) is harmless.
    assert codes.register("bank", 2, "insufficient_funds") == 202
