"""staking: registration with proof of possession, bond, unbond after the delay, and validator
sets that change two heights after the block that changes the stakes."""

from __future__ import annotations

from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK
from metanode.state.staking import errors
from metanode.state.staking import queries as staking_queries
from metanode.types import Bond, Denom, RegisterValidator, Transfer, Unbond
from tests.state import support
from tests.state.support import COIN, Chain, Wallet, bls_material, seed, validator_wallet


def register(wallet: Wallet, nonce: int, index: int, pop_of: int | None = None) -> object:
    bls_key, _ = bls_material(index)
    _, pop = bls_material(index if pop_of is None else pop_of)
    return wallet.tx(nonce, RegisterValidator(bls_key, pop, seed("vrf", index)))


def test_register_bond_and_the_two_height_delay() -> None:
    # Epochs of one block, so that the set changes two heights after the bond.
    chain = Chain(support.make_genesis(parameters={"staking": {"epoch_blocks": 1}}))
    newcomer = Wallet.of(1)
    assert chain.run([register(newcomer, 0, 50)]).receipts[0].code == OK
    record = staking_queries.validator(chain.state.reader, newcomer.address)
    assert record is not None and record.stake == 0
    # Registered without stake: not in any set.
    members = {m.address for m in staking_queries.next_validator_set(chain.state.reader)}
    assert newcomer.address not in members
    bonded_at = chain.state.height + 1
    changes = chain.run([newcomer.tx(1, Bond(newcomer.address, 5 * COIN))])
    assert changes.receipts[0].code == OK
    assert bonded_at == changes.height
    # After block h: the set for h+1 is unchanged, the set for h+2 has the newcomer.
    now = {m.address: m.power for m in staking_queries.validator_set(chain.state.reader)}
    later = {m.address: m.power for m in staking_queries.next_validator_set(chain.state.reader)}
    assert newcomer.address not in now
    assert later[newcomer.address] == 5
    header = chain.run([]).block.header  # height h+1: signed by the old set
    assert header.validator_set_hash != header.next_validator_set_hash
    following = chain.propose([]).block.header  # height h+2: the newcomer signs
    members = {m.address for m in staking_queries.validator_set(chain.state.reader)}
    assert newcomer.address in members
    assert following.validator_set_hash == staking_queries.validator_set_hash(chain.state.reader)


def test_registration_failures() -> None:
    chain = Chain()
    a, b = Wallet.of(1), Wallet.of(2)
    assert chain.run([register(a, 0, 60, pop_of=61)]).receipts[0].code == (
        errors.INVALID_PROOF_OF_POSSESSION
    )
    assert chain.run([register(a, 1, 60)]).receipts[0].code == OK
    assert chain.run([register(a, 2, 62)]).receipts[0].code == errors.ALREADY_REGISTERED
    assert chain.run([register(b, 0, 60)]).receipts[0].code == errors.BLS_KEY_IN_USE


def test_unbond_returns_gen_after_the_delay() -> None:
    chain = Chain()  # unbonding_delay_blocks = 3 (support.genesis_tree)
    holder = Wallet.of(1)
    validator = validator_wallet(0).address
    gen = bank_queries.balance(chain.state.reader, holder.address, Denom.GEN)
    assert chain.run([holder.tx(0, Bond(validator, 10 * COIN))]).receipts[0].code == OK
    assert staking_queries.delegation(chain.state.reader, holder.address, validator) == 10 * COIN
    changes = chain.run([holder.tx(1, Unbond(validator, 4 * COIN))])
    assert changes.receipts[0].code == OK
    assert changes.receipts[0].events[0].kind == "unbonding"
    completion = changes.height + 3
    for _ in range(2):
        chain.run([])
        assert (
            bank_queries.balance(chain.state.reader, holder.address, Denom.GEN) == gen - 10 * COIN
        )
    chain.run([])
    assert chain.state.height == completion
    assert bank_queries.balance(chain.state.reader, holder.address, Denom.GEN) == gen - 6 * COIN
    assert staking_queries.unbondings_at(chain.state.reader, completion) == ()


def test_bond_and_unbond_failures() -> None:
    chain = Chain()
    holder = Wallet.of(1)
    validator = validator_wallet(0).address
    nobody = Wallet.of(77).address
    cases = [
        (Bond(validator, 0), errors.AMOUNT_MUST_NOT_BE_ZERO),
        (Bond(nobody, 1), errors.VALIDATOR_NOT_FOUND),
        (Bond(validator, 10**9 * COIN), errors.INSUFFICIENT_FUNDS),
        (Unbond(validator, 0), errors.AMOUNT_MUST_NOT_BE_ZERO),
        (Unbond(nobody, 1), errors.VALIDATOR_NOT_FOUND),
        (Unbond(validator, 1), errors.INSUFFICIENT_DELEGATION),
    ]
    for nonce, (message, code) in enumerate(cases):
        assert chain.run([holder.tx(nonce, message)]).receipts[0].code == code


def test_the_last_validator_cannot_empty_the_set() -> None:
    chain = Chain()
    validator = validator_wallet(0)
    # Give the validator FLX for fees, then unbond everything it has.
    chain.run([Wallet.of(0).tx(0, Transfer(validator.address, 10 * COIN, Denom.FLX))])
    stake = staking_queries.delegation(chain.state.reader, validator.address, validator.address)
    assert chain.run([validator.tx(0, Unbond(validator.address, stake))]).receipts[0].code == OK
    members = staking_queries.next_validator_set(chain.state.reader)
    assert [m.address for m in members] == [validator.address]


def test_set_hash_is_the_one_consensus_computes() -> None:
    from metanode.consensus.validators import Validator, ValidatorSet

    chain = Chain()
    members = staking_queries.validator_set(chain.state.reader)
    consensus_set = ValidatorSet.of(
        [
            Validator(m.address, m.power, m.public_key, m.bls_public_key, m.vrf_public_key)
            for m in members
        ]
    )
    assert consensus_set.hash() == staking_queries.validator_set_hash(chain.state.reader)
