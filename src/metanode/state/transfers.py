"""A run of a block's transfers, executed by the compiled core in one call.

Rules:
- Same answers as the reference: `machine._execute` runs every transaction through the guard
  ladder (auth/rules.py), `charge` and its rule; for consecutive transactions carrying a
  `Transfer` the core (`_core.execute_transfers`, rust/src/transfers.rs) applies the same
  rungs, the same charge and `bank.rules.on_transfer`, in block order, and returns each one's
  outcome, the fees and the changed account records in their stored encoding. tests/state/
  test_transfers_core.py demands byte-identical writes, receipts, roots and codes against
  `METANODE_CORE=python` on random blocks of good and bad transfers.
- What the core cannot read, Python reads before the call, in one batch through the block's
  overlay (`Overlay.get_many`: one loop over LMDB): each account record the run touches as
  stored (the core decodes it, as strictly as `values.decode_uints`: a record it refuses is
  an `InvariantViolation`), whether each sender has migrated to a hybrid key, and keys'
  `hybrid_accounts_required`. A run holds only transfers, and no transfer writes a migration
  or a parameter, so what was read stays true for the whole run.
- Signatures: the ladder's signature rung comes after the chain, expiry and fee rungs. A
  transaction not verified before is verified here before the call; its verdict is used only
  if the earlier rungs pass, so the code is the reference's (a transaction refused earlier
  merely costs its verification).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from types import ModuleType

from metanode.state.auth import errors as auth
from metanode.state.auth.params import AuthParams
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.bank import errors as bank
from metanode.state.bank import keys as bank_keys
from metanode.state.bank.accounts import MODULE_ADDRESSES
from metanode.state.codes import OK
from metanode.state.context import BlockContext
from metanode.state.keys import errors as keys_errors
from metanode.state.keys import keys as keys_keys
from metanode.state.keys.params import read_params as read_keys_params
from metanode.state.view import Overlay
from metanode.types import Address, Transaction, Transfer

# The core's outcome numbers (rust/src/transfers.rs `Outcome`), as result codes: the first
# ten the ladder's (the transaction stays out of the block), the last three the rule's.
OUTCOME_CODES = (
    OK,
    auth.WRONG_CHAIN,
    auth.EXPIRED,
    auth.FEE_TOO_LOW,
    auth.BAD_SIGNATURE,
    keys_errors.ACCOUNT_MIGRATED,
    keys_errors.HYBRID_KEY_REQUIRED,
    auth.NONCE_TOO_LOW,
    auth.NONCE_TOO_HIGH,
    auth.INSUFFICIENT_FEE_BALANCE,
    bank.AMOUNT_MUST_NOT_BE_ZERO,
    bank.RECIPIENT_IS_MODULE_ACCOUNT,
    bank.INSUFFICIENT_FUNDS,
)
LADDER_OUTCOMES = frozenset(range(1, 10))
_MODULE_RAWS = frozenset(address.raw for address in MODULE_ADDRESSES)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One outcome per transaction looked at (fewer than the run's when a proposer's block
    filled up or an applied block's transaction failed the ladder), the run's fees, and each
    transaction's raw addresses the store indexes it under (`machine.touched_addresses`: its
    sender's, and its recipient's when another), made by the core with the run's accounts."""

    outcomes: bytes
    fees: int
    touched: list[list[bytes]]


def execute_run(
    core: ModuleType,
    overlay: Overlay,
    params: AuthParams,
    context: BlockContext,
    txs: list[Transaction],
    senders: list[Address],
    signature_checked: Container[bytes] | None,
    room: tuple[int, int] | None,
) -> RunResult:
    """Execute `txs` (each carrying a Transfer; `senders` their addresses) on `overlay`.

    `signature_checked` holds the hashes verified before (None: every signature was, as in a
    replay). `room` is a proposer's (transactions, bytes) left in its block, None when
    applying a block."""
    items = []
    for tx, sender in zip(txs, senders, strict=True):
        message: Transfer = tx.message  # type: ignore[assignment]
        signature_ok = (
            signature_checked is None or tx.hash() in signature_checked or verify_tx_signature(tx)
        )
        items.append(
            (
                tx.chain_id,
                sender.raw,
                tx.pq_public_key is not None,
                signature_ok,
                tx.nonce,
                tx.fee,
                tx.expiry_height,
                message.to.raw,
                message.amount,
                message.denom,
                len(tx.encode()),
            )
        )
    # In key order (the account keys share one prefix): the reads walk LMDB's tree from leaf
    # to neighbouring leaf, and the core returns the changed records in the holders' order,
    # so they join the overlay as one sorted run, which the end of block's sort of its keys
    # merges in one pass instead of sorting ≈ 10,000 keys a block of transfers. The core
    # sorts the addresses and makes their keys (`_core.run_accounts`).
    raws, account_keys, sender_raws, indexed = core.run_accounts(items, bank_keys.ACCOUNT)
    records = overlay.get_many(account_keys)
    migrated: set[bytes] = set()
    # A state with no migration flag at all (no account has moved to a hybrid address: the
    # usual case) shows it in one seek, where reading each sender's flag was ≈ 5,000 LMDB
    # misses a block.
    if next(overlay.scan(keys_keys.MIGRATED), None) is not None:
        migrations = overlay.get_many([keys_keys.MIGRATED + raw for raw in sender_raws])
        migrated = {
            raw for raw, found in zip(sender_raws, migrations, strict=True) if found is not None
        }
    holders = [
        (raw, key, record, raw in _MODULE_RAWS, raw in migrated)
        for raw, key, record in zip(raws, account_keys, records, strict=True)
    ]
    hybrid_required = bool(read_keys_params(overlay).hybrid_accounts_required)
    outcomes, fees, changed = core.execute_transfers(
        holders,
        items,
        context.chain.chain_id,
        context.height,
        params.fee_min,
        hybrid_required,
        room,
    )
    overlay.put_many(changed)
    return RunResult(outcomes, fees, indexed)
