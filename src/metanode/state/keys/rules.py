"""keys rules: the ladder's key rung, account migration (message 37) and node keys (38).

The rung (`check_keys`, called by the auth ladder right after the signature, and by the
mempool) refuses what an Ed25519 key may no longer sign: anything for an account that
migrated (`account_migrated`); while `hybrid_accounts_required` is set, anything but its
migration for an Ed25519 account that has never sent a transaction; and while
`hybrid_validators_required` is set, a validator registration from an identity without an
ML-DSA key (both `hybrid_key_required`). Hybrid senders pass.

Both messages are double-signed: the envelope by the Ed25519 key, `signature` by the new keys
as a hybrid signature over a statement naming the chain, the account and what is done
(`statement`), so it cannot be replayed on another chain, for another account, or as the other
message. Guards, in this order (tests/state/test_keys.py pins them):
    37: 1 already_hybrid   2 migration_needs_both_keys   3 new_key_signature_invalid
        4 account_is_a_node
    38: 1 already_hybrid   2 migration_needs_both_keys   3 new_key_signature_invalid
        4 node_key_exists
    43: see `on_rotate_node_key`
A migration moves the sender's coins of every denomination and its bonds (as a delegator) to
the address of the new keys and marks the account migrated (its nonce stays; the mark refuses
every later Ed25519 transaction, and staking pays its unbondings in flight to the new address
when they mature). A node key is recorded beside the identity, whose Ed25519 key stays its node id.
A rotation (43) replaces the identity's node key, its consensus key and TLS certificate, in
staking's and the registry's records: the next set computed at an epoch end carries it, while
the sets already fixed and recorded keep the old one for their heights. The identity stays:
its address, records and stake, and the key its address is the hash of, which alone signs its
transactions (docs/decisions/node-key-rotation.md).
"""

from __future__ import annotations

from metanode.codec import encode, tags
from metanode.crypto import ed25519, pq
from metanode.errors import KeyFormatError, VerificationError
from metanode.state.bank.accounts import Account, read_account, write_account
from metanode.state.bank.rules import credit
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.keys import errors, keys
from metanode.state.keys.params import read_params
from metanode.state.keys.queries import current_node_key
from metanode.state.registry import rules as registry
from metanode.state.registry.records import read_node
from metanode.state.staking import rules as staking
from metanode.state.staking.records import read_validator
from metanode.state.view import Overlay, StateReader
from metanode.types import (
    AddNodeKey,
    Address,
    Denom,
    MigrateAccount,
    RegisterNode,
    RegisterValidator,
    Role,
    RotateNodeKey,
    Transaction,
)

ACCOUNT = "account"
NODE = "node"
ROTATE = "rotate"


def statement(chain_id: str, account: Address, what: str, *keys_: bytes) -> bytes:
    """What the new keys sign to take over `account` (`ACCOUNT`), join its identity (`NODE`)
    or replace its node key (`ROTATE`, naming the current key and the new one, so that the
    signatures of one rotation serve no later one)."""
    return tags.KEY_MIGRATION.name_bytes + b"\x00" + encode([chain_id, account.raw, what, *keys_])


def _registers_validator(tx: Transaction) -> bool:
    message = tx.message
    return isinstance(message, RegisterValidator) or (
        isinstance(message, RegisterNode) and Role.VALIDATOR in message.roles
    )


def check_keys(reader: StateReader, tx: Transaction, sender: Address, nonce: int) -> int:
    """The ladder's key rung for a transaction whose signature verified."""
    if tx.pq_public_key is not None:
        return OK
    if reader.get(keys.migrated(sender)) is not None:
        return errors.ACCOUNT_MIGRATED
    new_account = nonce == 0 and not isinstance(
        tx.message, MigrateAccount | AddNodeKey | RotateNodeKey
    )
    validator = _registers_validator(tx)
    if not (new_account or validator):
        return OK  # the common case reads no parameters
    params = read_params(reader)
    if new_account and params.hybrid_accounts_required:
        return errors.HYBRID_KEY_REQUIRED
    if (
        validator
        and params.hybrid_validators_required
        and reader.get(keys.node_key(sender)) is None
    ):
        return errors.HYBRID_KEY_REQUIRED
    return OK


def _double_signed(
    context: TxContext, ed25519_key: bytes, mldsa_key: bytes, signature: bytes, what: str
) -> int:
    """The guards both messages share, in order."""
    if context.is_hybrid:
        return errors.ALREADY_HYBRID
    if not mldsa_key or len(signature) != pq.HYBRID_SIGNATURE_BYTES:
        return errors.MIGRATION_NEEDS_BOTH_KEYS
    signed = statement(context.block.chain.chain_id, context.sender, what)
    try:
        pq.verify_hybrid(ed25519_key, mldsa_key, signed, signature)
    except (VerificationError, KeyFormatError):
        return errors.NEW_KEY_SIGNATURE_INVALID
    return OK


def on_migrate_account(writer: Overlay, context: TxContext, message: MigrateAccount) -> int:
    code = _double_signed(
        context, message.ed25519_key, message.mldsa_key, message.signature, ACCOUNT
    )
    if code != OK:
        return code
    sender = context.sender
    if read_node(writer, sender) is not None or read_validator(writer, sender) is not None:
        return errors.ACCOUNT_IS_A_NODE
    target = Address.from_public_key(message.ed25519_key, message.mldsa_key)
    account = read_account(writer, sender)
    write_account(writer, sender, Account(account.nonce))
    for denom in Denom:
        credit(writer, target, denom, account.balance(denom))
    staking.move_delegations(writer, context.block, sender, target)
    writer.put(keys.migrated(sender), target.raw)
    return OK


def on_add_node_key(writer: Overlay, context: TxContext, message: AddNodeKey) -> int:
    code = _double_signed(
        context, context.sender_public_key, message.mldsa_key, message.signature, NODE
    )
    if code != OK:
        return code
    if writer.get(keys.node_key(context.sender)) is not None:
        return errors.NODE_KEY_EXISTS
    writer.put(keys.node_key(context.sender), message.mldsa_key)
    return OK


def _key_in_use(reader: StateReader, current: bytes, new: bytes) -> bool:
    """Whether `new` is, or was, some identity's node key: peers map a certificate's key to
    one identity, and an address's own key is that address's."""
    owner = Address.from_public_key(new)
    return (
        new == current
        or reader.get(keys.rotated(new)) is not None
        or read_validator(reader, owner) is not None
        or read_node(reader, owner) is not None
    )


def _new_keys_signed(message: RotateNodeKey, signed: bytes) -> bool:
    if not message.mldsa_key:
        return ed25519.is_valid(message.public_key, signed, message.signature)
    try:
        pq.verify_hybrid(message.public_key, message.mldsa_key, signed, message.signature)
    except (VerificationError, KeyFormatError):
        return False
    return True


def _recorded_key_signed(recorded: bytes | None, signed: bytes, signature: bytes) -> bool:
    if recorded is None:
        return not signature
    try:
        pq.mldsa65_verify(recorded, signed, signature)
    except (VerificationError, KeyFormatError):
        return False
    return True


def on_rotate_node_key(writer: Overlay, context: TxContext, message: RotateNodeKey) -> int:
    """Message 43. Guards, in order (tests/state/test_keys_rotation.py pins them):
    1 already_hybrid  2 node_not_registered  3 migration_needs_both_keys
    4 hybrid_key_required  5 node_key_in_use  6 new_key_signature_invalid
    7 recorded_key_signature_invalid."""
    if context.is_hybrid:
        return errors.ALREADY_HYBRID
    sender = context.sender
    current = current_node_key(writer, sender)
    if current is None:
        return errors.NODE_NOT_REGISTERED
    expected = pq.HYBRID_SIGNATURE_BYTES if message.mldsa_key else ed25519.SIGNATURE_BYTES
    if len(message.signature) != expected:
        return errors.MIGRATION_NEEDS_BOTH_KEYS
    recorded = writer.get(keys.node_key(sender))
    if not message.mldsa_key and (
        recorded is not None
        or (read_params(writer).hybrid_validators_required and read_validator(writer, sender))
    ):
        return errors.HYBRID_KEY_REQUIRED
    if _key_in_use(writer, current, message.public_key):
        return errors.NODE_KEY_IN_USE
    signed = statement(context.block.chain.chain_id, sender, ROTATE, current, message.public_key)
    if not _new_keys_signed(message, signed):
        return errors.NEW_KEY_SIGNATURE_INVALID
    if not _recorded_key_signed(recorded, signed, message.recorded_signature):
        return errors.RECORDED_KEY_SIGNATURE_INVALID
    if read_validator(writer, sender) is not None:
        staking.set_node_key(writer, context.block, sender, message.public_key)
    if read_node(writer, sender) is not None:
        registry.set_node_key(writer, sender, message.public_key)
    writer.put(keys.rotated(message.public_key), sender.raw)
    if message.mldsa_key:
        writer.put(keys.node_key(sender), message.mldsa_key)
    return OK
