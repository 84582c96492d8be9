"""keys rules: the ladder's key rung, and account migration (message 37).

The rung (`check_keys`, called by the auth ladder right after the signature) refuses what an
Ed25519 key may no longer sign: anything for an account that migrated (`account_migrated`),
and, while `hybrid_accounts_required` is set, anything but its migration for an Ed25519 account
that has never sent a transaction (`hybrid_key_required`). Hybrid senders pass.

Migration guards, in this order (tests/state/test_keys.py pins it):
    1 already_hybrid   2 migration_needs_both_keys   3 new_key_signature_invalid
    4 account_is_a_node
Then the sender's coins of every denomination move to the address of the new keys and the
account is marked migrated. Its nonce stays where it is: the tombstone refuses every later
Ed25519 transaction anyway. What both keys sign is `migration_statement`: the chain id and the
old address, so a statement cannot be replayed on another chain or for another account.
"""

from __future__ import annotations

from metanode.codec import encode, tags
from metanode.crypto import pq
from metanode.errors import KeyFormatError, VerificationError
from metanode.state.bank.accounts import Account, read_account, write_account
from metanode.state.bank.rules import credit
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.keys import errors, keys
from metanode.state.keys.params import read_params
from metanode.state.registry.records import read_node
from metanode.state.staking.records import read_validator
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom, MigrateAccount, Transaction


def migration_statement(chain_id: str, account: Address) -> bytes:
    """What the new hybrid keys sign to take over `account`."""
    return tags.KEY_MIGRATION.name_bytes + b"\x00" + encode([chain_id, account.raw])


def check_keys(reader: StateReader, tx: Transaction, sender: Address, nonce: int) -> int:
    """The ladder's key rung for a transaction whose signature verified."""
    if tx.pq_public_key is not None:
        return OK
    if reader.get(keys.migrated(sender)) is not None:
        return errors.ACCOUNT_MIGRATED
    if (
        nonce == 0
        and not isinstance(tx.message, MigrateAccount)
        and read_params(reader).hybrid_accounts_required
    ):
        return errors.HYBRID_KEY_REQUIRED
    return OK


def on_migrate_account(writer: Overlay, context: TxContext, message: MigrateAccount) -> int:
    if context.is_hybrid:
        return errors.ALREADY_HYBRID
    if not message.mldsa_key or len(message.signature) != pq.HYBRID_SIGNATURE_BYTES:
        return errors.MIGRATION_NEEDS_BOTH_KEYS
    statement = migration_statement(context.block.chain.chain_id, context.sender)
    try:
        pq.verify_hybrid(message.ed25519_key, message.mldsa_key, statement, message.signature)
    except (VerificationError, KeyFormatError):
        return errors.NEW_KEY_SIGNATURE_INVALID
    sender = context.sender
    if read_node(writer, sender) is not None or read_validator(writer, sender) is not None:
        return errors.ACCOUNT_IS_A_NODE
    target = Address.from_public_key(message.ed25519_key, message.mldsa_key)
    account = read_account(writer, sender)
    write_account(writer, sender, Account(account.nonce))
    for denom in Denom:
        credit(writer, target, denom, account.balance(denom))
    writer.put(keys.migrated(sender), target.raw)
    return OK
