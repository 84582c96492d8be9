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
