"""keys: a validator rotates its Ed25519 node key (message 43) with the consent of its identity
key and of the new key; the set fixed at the next epoch end carries the new key while the sets
recorded for earlier heights keep the old one, so evidence for a height is checked against the
key that signed it; bad rotations get their codes in guard order and change nothing but the
fee (hostile values too); a retired or foreign key is never taken again."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.consensus.messages import Kind, Signed
from metanode.crypto import ed25519, pq
from metanode.errors import ConfigError
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK, name_of
from metanode.state.context import BlockContext, TxContext
from metanode.state.genesis.chain import read_chain
from metanode.state.genesis.document import parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.keys import queries
from metanode.state.keys.queries import current_node_key
from metanode.state.keys.rules import ROTATE, on_rotate_node_key, statement
from metanode.state.registry import queries as registry_queries
from metanode.state.staking import queries as staking_queries
from metanode.state.view import Overlay
from metanode.types import Address, Denom, RotateNodeKey, SubmitEvidence, Transaction, Transfer
from tests.conftest import examples
from tests.state.support import (
    CHAIN_ID,
    COIN,
    FEE,
    Chain,
    Wallet,
    make_genesis,
    validator_wallet,
)
from tests.state.test_keys import MLDSA as RECORDED
from tests.state.test_keys import node_key
from tests.state.test_registry import chain_of, registration

VALIDATOR = validator_wallet(1)
NEW = ed25519.PrivateKey.from_seed(b"\x21" * 32)
NEWER = ed25519.PrivateKey.from_seed(b"\x22" * 32)
MLDSA = pq.MLDSA65PrivateKey.from_seed(b"\x23" * 32)


def epoch_chain(keys_parameters: dict[str, int] | None = None) -> Chain:
    """Two validators, epochs of four blocks (the end of block 3 fixes the set from 5 on), and
    FLX for validator 1's fees."""
    parameters = {
        "staking": {"unbonding_delay_blocks": 3, "epoch_blocks": 4},
        "keys": keys_parameters or {},
    }
    chain = Chain(make_genesis(validators=2, parameters=parameters))
    chain.run([Wallet.of(0).tx(0, Transfer(VALIDATOR.address, 50 * COIN, Denom.FLX))])
    return chain


def rotation(
    chain: Chain,
    new: ed25519.PrivateKey = NEW,
    *,
    mldsa: pq.MLDSA65PrivateKey | None = None,
    recorded: pq.MLDSA65PrivateKey | None = None,
    address: Address = VALIDATOR.address,
) -> RotateNodeKey:
    """Message 43 to `new` (hybrid with `mldsa`), signed by the key the identity records."""
    current = current_node_key(chain.state.reader, address)
    assert current is not None
    signed = statement(CHAIN_ID, address, ROTATE, current, new.public_key)
    if mldsa is None:
        signature, mldsa_key = new.sign(signed), b""
    else:
        signature, mldsa_key = pq.HybridPrivateKey(new, mldsa).sign(signed), mldsa.public_key
    return RotateNodeKey(
        new.public_key, mldsa_key, signature, recorded.sign(signed) if recorded else b""
    )


def nonce(chain: Chain, wallet: Wallet) -> int:
    return bank_queries.account(chain.state.reader, wallet.address).nonce


def send(chain: Chain, message: RotateNodeKey) -> str:
    tx: Transaction = VALIDATOR.tx(nonce(chain, VALIDATOR), message)
    before = staking_queries.validator(chain.state.reader, VALIDATOR.address)
    flx = bank_queries.balance(chain.state.reader, VALIDATOR.address, Denom.FLX)
    code = chain.run([tx]).receipts[0].code
    if code != OK:
        assert staking_queries.validator(chain.state.reader, VALIDATOR.address) == before
        after = bank_queries.balance(chain.state.reader, VALIDATOR.address, Denom.FLX)
        assert after == flx - FEE  # the fee only
    return name_of(code)


def key_of(members: object, address: Address) -> bytes:
    return next(m.public_key for m in members if m.address == address)  # type: ignore[attr-defined]


def test_a_rotated_key_signs_from_the_next_epoch_and_old_heights_keep_the_old_key() -> None:
    chain = epoch_chain()  # block 1
    old = VALIDATOR.public_key
    assert send(chain, rotation(chain)) == "ok"  # block 2
    reader = chain.state.reader
    assert staking_queries.validator(reader, VALIDATOR.address).public_key == NEW.public_key
    assert queries.node_of_key(reader, NEW.public_key) == VALIDATOR.address
    # Heights 3 and 4 were fixed before: the old key still signs them.
    assert key_of(staking_queries.next_validator_set(reader), VALIDATOR.address) == old
    chain.run([])  # block 3, the epoch's end: the set from 5 on carries the new key
    reader = chain.state.reader
    assert key_of(staking_queries.next_validator_set(reader), VALIDATOR.address) == NEW.public_key
    chain.run([])
    chain.run([])  # block 5
    reader = chain.state.reader
    assert key_of(staking_queries.validator_set_at(reader, 4), VALIDATOR.address) == old
    assert key_of(staking_queries.validator_set_at(reader, 5), VALIDATOR.address) == NEW.public_key
    # The identity stays: same address, same stake, and its own key still signs its txs.
    assert staking_queries.validator(reader, VALIDATOR.address).stake == 1_000 * COIN
    assert send(chain, rotation(chain, NEWER)) == "ok"
    assert key_of(staking_queries.validator_set_at(chain.state.reader, 4), VALIDATOR.address) == (
        old
    )


def equivocation_signed(key: ed25519.PrivateKey, height: int) -> SubmitEvidence:
    """Two PREPAREs of VALIDATOR for different blocks at `height`, signed by `key`."""
    signed = []
    for digest in (bytes(32), b"\x01" * 32):
        record = Signed(Kind.PREPARE, height, 0, digest, None, b"", VALIDATOR.address)
        signature = key.sign(record.signing_message())
        signed.append(
            Signed(Kind.PREPARE, height, 0, digest, None, b"", VALIDATOR.address, signature)
        )
    return SubmitEvidence(signed[0], signed[1])


def test_evidence_is_checked_against_the_key_of_its_heights_set() -> None:
    chain = epoch_chain()
    send(chain, rotation(chain))
    for _ in range(4):
        chain.run([])  # to block 6: heights 5 and 6 signed by the new key
    old_key = ed25519.PrivateKey.from_seed(VALIDATOR.key.encode())
    reporter = Wallet.of(1)
    cases = [
        (equivocation_signed(old_key, 5), "registry.evidence_signature_invalid"),
        (equivocation_signed(NEW, 2), "registry.evidence_signature_invalid"),
        (equivocation_signed(NEW, 5), "ok"),
    ]
    for index, (evidence, expected) in enumerate(cases):
        code = chain.run([reporter.tx(index, evidence)]).receipts[0].code
        assert name_of(code) == expected


def test_an_old_height_equivocation_by_the_retired_key_still_counts() -> None:
    chain = epoch_chain()
    send(chain, rotation(chain))
    for _ in range(4):
        chain.run([])
    old_key = ed25519.PrivateKey.from_seed(VALIDATOR.key.encode())
    code = chain.run([Wallet.of(1).tx(0, equivocation_signed(old_key, 2))]).receipts[0].code
    assert code == OK


def test_bad_rotations_get_their_codes_in_guard_order_and_change_nothing_but_the_fee() -> None:
    chain = epoch_chain()
    good = rotation(chain)
    other_identity = rotation(chain, address=validator_wallet(0).address)
    own = ed25519.PrivateKey.from_seed(VALIDATOR.key.encode())
    peer = ed25519.PrivateKey.from_seed(validator_wallet(0).key.encode())
    cases = [
        (RotateNodeKey(NEW.public_key, b"", b"", b""), "keys.migration_needs_both_keys"),
        (
            RotateNodeKey(NEW.public_key, MLDSA.public_key, good.signature, b""),
            "keys.migration_needs_both_keys",
        ),
        (rotation(chain, own), "keys.node_key_in_use"),  # the current key
        (rotation(chain, peer), "keys.node_key_in_use"),  # another identity's key
        (other_identity, "keys.new_key_signature_invalid"),  # another identity's statement
        (
            RotateNodeKey(NEW.public_key, b"", NEWER.sign(b"x"), b""),
            "keys.new_key_signature_invalid",
        ),
        (
            RotateNodeKey(NEW.public_key, b"", good.signature, MLDSA.sign(b"x")),
            "keys.recorded_key_signature_invalid",  # none is recorded
        ),
    ]
    for message, expected in cases:
        assert send(chain, message) == expected
    assert queries.node_of_key(chain.state.reader, NEW.public_key) is None
    # A plain account has no node key to rotate.
    tx = Wallet.of(3).tx(0, good)
    assert name_of(chain.run([tx]).receipts[0].code) == "keys.node_not_registered"
    assert send(chain, good) == "ok"
    # A key retired by a rotation is never taken again, by anyone.
    assert send(chain, rotation(chain, NEWER)) == "ok"
    assert send(chain, rotation(chain, NEW)) == "keys.node_key_in_use"


def test_an_identity_with_an_ml_dsa_key_rotates_both_with_its_consent() -> None:
    chain = epoch_chain()
    assert chain.run([VALIDATOR.tx(0, node_key(VALIDATOR))]).receipts[0].code == OK
    assert send(chain, rotation(chain)) == "keys.hybrid_key_required"
    assert send(chain, rotation(chain, mldsa=MLDSA)) == "keys.recorded_key_signature_invalid"
    wrong = pq.MLDSA65PrivateKey.from_seed(b"\x24" * 32)
    assert send(chain, rotation(chain, mldsa=MLDSA, recorded=wrong)) == (
        "keys.recorded_key_signature_invalid"
    )
    assert send(chain, rotation(chain, mldsa=MLDSA, recorded=RECORDED)) == "ok"
    reader = chain.state.reader
    assert queries.node_key(reader, VALIDATOR.address) == MLDSA.public_key
    assert registry_queries.node(reader, VALIDATOR.address) is None  # a genesis validator


def test_a_chain_restarted_from_an_export_keeps_the_rotated_identity_and_its_keys() -> None:
    chain = epoch_chain()
    assert send(chain, rotation(chain)) == "ok"
    for _ in range(3):
        chain.run([])  # past the epoch end: the set carries NEW
    assert send(chain, rotation(chain, NEWER)) == "ok"
    exported = export_genesis(chain.state.reader)
    assert exported.key_records.rotated == tuple(
        sorted([(NEW.public_key, VALIDATOR.address), (NEWER.public_key, VALIDATOR.address)])
    )
    reloaded = parse_genesis(exported.to_json())
    assert reloaded == exported
    restarted = Chain(reloaded)
    reader = restarted.state.reader
    assert export_genesis(reader) == exported
    # The identity keeps its address, its stake and the key it rotated to last, from height 1.
    assert staking_queries.validator(reader, VALIDATOR.address).public_key == NEWER.public_key
    assert staking_queries.validator(reader, VALIDATOR.address).stake == 1_000 * COIN
    assert key_of(staking_queries.validator_set_at(reader, 1), VALIDATOR.address) == (
        NEWER.public_key
    )
    assert queries.node_of_key(reader, NEW.public_key) == VALIDATOR.address
    restarted.run([])
    restarted.run([])
    old_key = ed25519.PrivateKey.from_seed(VALIDATOR.key.encode())
    reporter = Wallet.of(1)
    start = nonce(restarted, reporter)
    cases = [
        (equivocation_signed(old_key, 1), "registry.evidence_signature_invalid"),
        (equivocation_signed(NEW, 1), "registry.evidence_signature_invalid"),
        (equivocation_signed(NEWER, 1), "ok"),
    ]
    for index, (evidence, expected) in enumerate(cases):
        code = restarted.run([reporter.tx(start + index, evidence)]).receipts[0].code
        assert name_of(code) == expected
    # A key the identity gave up stays given up on the new chain.
    assert send(restarted, rotation(restarted, NEW)) == "keys.node_key_in_use"


def test_the_genesis_file_refuses_a_rotated_key_that_would_name_two_identities() -> None:
    exported = export_genesis(rotated_chain().state.reader)
    tree = json.loads(exported.to_json())
    entry = tree["keys"]["rotated"][0]
    cases = [
        ([entry, entry], "keys.rotated[1].public_key: a key serves one identity"),
        (
            [{**entry, "node": str(Address.from_public_key(NEW.public_key))}],
            "keys.rotated[0].public_key: a key serves one identity, and never the identity",
        ),
        ([{**entry, "public_key": "00" * 31}], "keys.rotated[0].public_key"),
    ]
    for rotated, message in cases:
        tree["keys"]["rotated"] = rotated
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_genesis(json.dumps(tree))


def rotated_chain() -> Chain:
    chain = epoch_chain()
    assert send(chain, rotation(chain)) == "ok"
    return chain


CHAIN = epoch_chain()


@given(
    public_key=st.binary(min_size=32, max_size=32),
    mldsa_key=st.one_of(st.just(b""), st.binary(min_size=1952, max_size=1952)),
    signature=st.one_of(
        st.binary(max_size=80), st.binary(min_size=3373, max_size=3373), st.just(b"")
    ),
    recorded=st.one_of(st.just(b""), st.binary(min_size=3309, max_size=3309)),
    sender=st.sampled_from([VALIDATOR, Wallet.of(2)]),
)
@settings(max_examples=examples(60), deadline=None)
def test_hostile_rotations_get_a_code_and_write_nothing(
    public_key: bytes, mldsa_key: bytes, signature: bytes, recorded: bytes, sender: Wallet
) -> None:
    overlay = Overlay(CHAIN.state.reader)
    block = BlockContext(read_chain(CHAIN.state.reader), 2, 0, validator_wallet(0).address)
    context = TxContext(block, sender.address, sender.public_key, False)
    message = RotateNodeKey(public_key, mldsa_key, signature, recorded)
    code = on_rotate_node_key(overlay, context, message)
    assert code != OK and overlay.write_count == 0


def test_a_chain_requiring_hybrid_validators_requires_an_ml_dsa_key_in_a_rotation() -> None:
    chain = epoch_chain({"hybrid_validators_required": 1})
    assert send(chain, rotation(chain)) == "keys.hybrid_key_required"
    assert send(chain, rotation(chain, mldsa=MLDSA)) == "ok"
    assert queries.node_key(chain.state.reader, VALIDATOR.address) == MLDSA.public_key


def test_a_registered_node_that_rotated_is_exported_under_its_identity() -> None:
    chain = chain_of()
    node = Wallet.of(1)
    assert chain.run([node.tx(0, registration(stake=5 * COIN))]).receipts[0].code == OK
    changes = chain.run([node.tx(1, rotation(chain, address=node.address))])
    assert changes.receipts[0].code == OK
    exported = export_genesis(chain.state.reader)
    restarted = Chain(parse_genesis(exported.to_json()))
    record = registry_queries.node(restarted.state.reader, node.address)
    assert record is not None and record.public_key == NEW.public_key and record.stake == 5 * COIN
    by_key = Address.from_public_key(NEW.public_key)
    assert registry_queries.node(restarted.state.reader, by_key) is None
    assert export_genesis(restarted.state.reader) == exported
