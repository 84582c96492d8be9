"""keys: an Ed25519 account migrates to hybrid keys with both keys' consent, its coins move,
and its Ed25519 key alone is refused from then on; one-key, mismatched and replayed migrations
get their codes and change nothing but the fee; a migrating delegator's bonds and unbondings
follow it to the new address; a node identity adds an ML-DSA key the same
way; the chain can require hybrid keys of accounts that have not transacted yet, and of new
validators."""

from __future__ import annotations

import pytest

from metanode.crypto import ed25519, pq
from metanode.mempool.pool import Pool
from metanode.mempool.reasons import Reason
from metanode.state.auth.queries import AdmissionView
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.governance.parameters import Parameter, check_change
from metanode.state.keys import queries
from metanode.state.keys.rules import ACCOUNT, NODE, statement
from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.staking import queries as staking_queries
from metanode.types import (
    AddNodeKey,
    Address,
    Block,
    Bond,
    Denom,
    Message,
    MigrateAccount,
    RegisterValidator,
    Transaction,
    Transfer,
    Unbond,
)
from tests.state.support import (
    CHAIN_ID,
    COIN,
    FEE,
    Chain,
    Wallet,
    bls_material,
    make_genesis,
    seed,
    validator_wallet,
)

NEW = pq.HybridPrivateKey(
    ed25519.PrivateKey.from_seed(b"\x07" * 32), pq.MLDSA65PrivateKey.from_seed(b"\x08" * 32)
)
TARGET = Address.from_public_key(*NEW.public_keys)
SOMEONE = Wallet.of(9).address


def migration(wallet: Wallet, key: pq.HybridPrivateKey = NEW, chain_id: str = CHAIN_ID) -> bytes:
    return key.sign(statement(chain_id, wallet.address, ACCOUNT))


def migrate(wallet: Wallet, nonce: int, signature: bytes | None = None) -> Transaction:
    ed_key, mldsa_key = NEW.public_keys
    signature = migration(wallet) if signature is None else signature
    return wallet.tx(nonce, MigrateAccount(ed_key, mldsa_key, signature))


def hybrid_tx(nonce: int, message: Message) -> Transaction:
    ed_key, mldsa_key = NEW.public_keys
    unsigned = Transaction(
        CHAIN_ID, ed_key, nonce, FEE, 1_000_000, message, pq_public_key=mldsa_key
    )
    signing = unsigned.signing_message()
    return unsigned.with_signature(NEW.ed25519.sign(signing) + NEW.mldsa.sign(signing))


def test_a_migrated_account_moves_its_coins_and_its_ed25519_key_is_refused() -> None:
    chain = Chain()
    old = Wallet.of(1)
    before = bank_queries.account(chain.state.reader, old.address)
    assert chain.run([migrate(old, 0)]).receipts[0].code == OK
    assert queries.migrated_to(chain.state.reader, old.address) == TARGET
    moved = bank_queries.account(chain.state.reader, TARGET)
    assert moved.balance(Denom.GEN) == before.balance(Denom.GEN)
    assert moved.balance(Denom.FLX) == before.balance(Denom.FLX) - FEE
    assert bank_queries.account(chain.state.reader, old.address).balance(Denom.GEN) == 0
    # Coins sent to the old address later do not make its Ed25519 key good again.
    chain.run([Wallet.of(2).tx(0, Transfer(old.address, 10 * COIN, Denom.FLX))])
    old_style = old.tx(1, Transfer(SOMEONE, 1, Denom.GEN))
    proposal = chain.propose([old_style])
    assert [name_of(code) for _, code in proposal.dropped] == ["keys.account_migrated"]
    forged = Block(proposal.block.header, (old_style,), (), proposal.block.last_certificate)
    with pytest.raises(InvalidBlock, match="account_migrated"):
        apply_block(chain.state, forged)
    # The mempool refuses it at the door, for the same reason.
    pool = Pool(CHAIN_ID)
    admission = pool.admit(old_style.encode(), AdmissionView(chain.state.reader), 5)
    assert admission.reason == Reason.ACCOUNT_MIGRATED and "message 37" in admission.detail
    # The new keys spend the coins.
    changes = chain.run([hybrid_tx(0, Transfer(SOMEONE, 5 * COIN, Denom.GEN))])
    assert changes.receipts[0].code == OK


def test_the_key_rung_comes_after_the_signature_and_before_the_nonce() -> None:
    chain = Chain()
    old = Wallet.of(1)
    chain.run([migrate(old, 0)])
    chain.run([Wallet.of(2).tx(0, Transfer(old.address, 10 * COIN, Denom.FLX))])
    wrong_nonce = old.tx(7, Transfer(SOMEONE, 1, Denom.GEN))
    forged = wrong_nonce.with_signature(bytes(64))
    dropped = chain.propose([wrong_nonce, forged]).dropped
    assert [name_of(code) for _, code in dropped] == ["keys.account_migrated", "auth.bad_signature"]


def _outcome(chain: Chain, tx: Transaction) -> str:
    old = bank_queries.account(chain.state.reader, tx.sender_address)
    code = chain.run([tx]).receipts[0].code
    after = bank_queries.account(chain.state.reader, tx.sender_address)
    assert after.balance(Denom.FLX) == old.balance(Denom.FLX) - FEE  # the fee only
    assert after.balance(Denom.GEN) == old.balance(Denom.GEN)
    assert queries.migrated_to(chain.state.reader, tx.sender_address) is None
    return name_of(code)


def test_bad_migrations_get_their_codes_in_guard_order_and_change_nothing_but_the_fee() -> None:
    chain = Chain()
    wallet = Wallet.of(1)
    ed_key, mldsa_key = NEW.public_keys
    signed = statement(CHAIN_ID, wallet.address, ACCOUNT)
    whole = NEW.sign(signed)
    other = NEW.sign(signed + b"!")
    # Each half verifies alone, but over a different message than the other half.
    split = whole[: ed25519.SIGNATURE_BYTES] + other[ed25519.SIGNATURE_BYTES :]
    cases = [
        (wallet.tx(0, MigrateAccount(ed_key, b"", whole)), "keys.migration_needs_both_keys"),
        (
            wallet.tx(1, MigrateAccount(ed_key, mldsa_key, whole[:64])),
            "keys.migration_needs_both_keys",
        ),
        (migrate(wallet, 2, split), "keys.new_key_signature_invalid"),
        (migrate(wallet, 3, migration(Wallet.of(2))), "keys.new_key_signature_invalid"),
        (migrate(wallet, 4, migration(wallet, chain_id="other")), "keys.new_key_signature_invalid"),
        (
            migrate(wallet, 5, pq.HybridPrivateKey.generate().sign(signed)),
            "keys.new_key_signature_invalid",
        ),
    ]
    assert [_outcome(chain, tx) for tx, _ in cases] == [code for _, code in cases]
    # A hybrid sender has nothing to migrate; a validator's key is its consensus identity.
    chain.run([Wallet.of(2).tx(0, Transfer(TARGET, 10 * COIN, Denom.FLX))])
    already = hybrid_tx(0, MigrateAccount(ed_key, b"", b""))
    assert _outcome(chain, already) == "keys.already_hybrid"


def test_a_validator_cannot_migrate_its_account() -> None:
    chain = Chain(make_genesis(validators=2))
    validator = validator_wallet(1)  # not the proposer, so its FLX moves by the fee alone
    chain.run([Wallet.of(0).tx(0, Transfer(validator.address, 10 * COIN, Denom.FLX))])
    assert _outcome(chain, migrate(validator, 0)) == "keys.account_is_a_node"


def test_the_chain_can_require_hybrid_keys_of_accounts_that_have_not_transacted() -> None:
    chain = Chain(
        make_genesis(
            parameters={
                "staking": {"unbonding_delay_blocks": 3},
                "keys": {"hybrid_accounts_required": 1},
            }
        )
    )
    fresh = Wallet.of(3)
    transfer = fresh.tx(0, Transfer(SOMEONE, 1, Denom.GEN))
    assert [name_of(c) for _, c in chain.propose([transfer]).dropped] == [
        "keys.hybrid_key_required"
    ]
    assert chain.run([migrate(fresh, 0)]).receipts[0].code == OK  # its way out
    assert check_change(Parameter.KEYS_HYBRID_ACCOUNTS_REQUIRED, 0) == OK
    assert name_of(check_change(Parameter.KEYS_HYBRID_LINKS_REQUIRED, 2)) == (
        "governance.value_out_of_range"
    )


MLDSA = pq.MLDSA65PrivateKey.from_seed(b"\x09" * 32)


def node_key(wallet: Wallet, what: str = NODE, mldsa: pq.MLDSA65PrivateKey = MLDSA) -> AddNodeKey:
    """Message 38 for `wallet`: its own Ed25519 key and `mldsa` sign the `what` statement."""
    pair = pq.HybridPrivateKey(ed25519.PrivateKey.from_seed(wallet.key.encode()), mldsa)
    return AddNodeKey(mldsa.public_key, pair.sign(statement(CHAIN_ID, wallet.address, what)))


def test_a_validator_adds_an_ml_dsa_key_to_its_identity_once() -> None:
    chain = Chain(make_genesis(validators=2))
    validator = validator_wallet(1)
    chain.run([Wallet.of(0).tx(0, Transfer(validator.address, 10 * COIN, Denom.FLX))])
    bad = [
        (AddNodeKey(MLDSA.public_key, b""), "keys.migration_needs_both_keys"),
        (node_key(validator, ACCOUNT), "keys.new_key_signature_invalid"),  # the other statement
        (node_key(Wallet.of(2)), "keys.new_key_signature_invalid"),  # another identity's
    ]
    for nonce, (message, expected) in enumerate(bad):
        assert _outcome(chain, validator.tx(nonce, message)) == expected
    assert chain.run([validator.tx(3, node_key(validator))]).receipts[0].code == OK
    assert queries.node_key(chain.state.reader, validator.address) == MLDSA.public_key
    other = pq.MLDSA65PrivateKey.from_seed(b"\x0a" * 32)
    again = validator.tx(4, node_key(validator, mldsa=other))
    assert name_of(chain.run([again]).receipts[0].code) == "keys.node_key_exists"
    assert queries.node_key(chain.state.reader, validator.address) == MLDSA.public_key


def test_the_chain_can_require_an_ml_dsa_key_of_new_validators() -> None:
    parameters = {
        "staking": {"unbonding_delay_blocks": 3},
        "keys": {"hybrid_validators_required": 1},
    }
    chain = Chain(make_genesis(parameters=parameters))
    candidate = Wallet.of(2)
    bls_key, pop = bls_material(7)
    register = candidate.tx(1, RegisterValidator(bls_key, pop, seed("vrf", 7)))
    chain.run([candidate.tx(0, Transfer(SOMEONE, 1, Denom.GEN))])
    assert [name_of(c) for _, c in chain.propose([register]).dropped] == [
        "keys.hybrid_key_required"
    ]
    assert chain.run([candidate.tx(1, node_key(candidate))]).receipts[0].code == OK
    changes = chain.run([candidate.tx(2, RegisterValidator(bls_key, pop, seed("vrf", 7)))])
    assert changes.receipts[0].code == OK


def test_a_migrating_delegator_takes_its_bonds_along_and_its_unbonding_follows_it() -> None:
    chain = Chain()  # unbonding takes 3 blocks
    delegator = Wallet.of(1)
    validator = validator_wallet(0).address
    chain.run([delegator.tx(0, Bond(validator, 40 * COIN))])
    chain.run([delegator.tx(1, Unbond(validator, 10 * COIN))])  # in flight at the migration
    stake = staking_queries.validator(chain.state.reader, validator).stake
    assert chain.run([migrate(delegator, 2)]).receipts[0].code == OK
    reader = chain.state.reader
    assert staking_queries.delegation(reader, delegator.address, validator) == 0
    assert staking_queries.delegation(reader, TARGET, validator) == 30 * COIN
    assert staking_queries.validator(reader, validator).stake == stake  # the same bonds
    gen = bank_queries.balance(reader, TARGET, Denom.GEN)
    for _ in range(3):
        chain.run([])
    assert bank_queries.balance(chain.state.reader, TARGET, Denom.GEN) == gen + 10 * COIN
    assert bank_queries.balance(chain.state.reader, delegator.address, Denom.GEN) == 0
    # The new keys own the bond: they unbond it.
    changes = chain.run([hybrid_tx(0, Unbond(validator, 30 * COIN))])
    assert changes.receipts[0].code == OK


def test_a_chain_restarted_from_an_export_keeps_migrations_and_ml_dsa_keys() -> None:
    chain = Chain(make_genesis(validators=2))
    validator, old = validator_wallet(1), Wallet.of(1)
    chain.run([Wallet.of(0).tx(0, Transfer(validator.address, 10 * COIN, Denom.FLX))])
    changes = chain.run([migrate(old, 0), validator.tx(0, node_key(validator))])
    assert [receipt.code for receipt in changes.receipts] == [OK, OK]
    exported = export_genesis(chain.state.reader)
    assert exported.key_records.migrated == ((old.address, TARGET),)
    assert exported.key_records.node_keys == ((validator.address, MLDSA.public_key),)
    reloaded = parse_genesis(exported.to_json())
    assert reloaded == exported
    restarted = Chain(reloaded)
    reader = restarted.state.reader
    assert export_genesis(reader) == exported
    assert queries.migrated_to(reader, old.address) == TARGET
    assert queries.node_key(reader, validator.address) == MLDSA.public_key
    # Without them the old Ed25519 key would spend again, and the ML-DSA key could be replaced.
    restarted.run([Wallet.of(2).tx(0, Transfer(old.address, COIN, Denom.FLX))])
    proposal = restarted.propose([old.tx(1, Transfer(SOMEONE, 1, Denom.FLX))])
    assert [name_of(code) for _, code in proposal.dropped] == ["keys.account_migrated"]
    other = pq.MLDSA65PrivateKey.from_seed(b"\x0a" * 32)
    again = validator.tx(1, node_key(validator, mldsa=other))
    assert name_of(restarted.run([again]).receipts[0].code) == "keys.node_key_exists"
