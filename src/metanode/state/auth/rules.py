"""auth rules: the guard ladder and fee charging.

The guard ladder, in this order (each rung one code; tests/state/test_auth.py pins the order):
    1 wrong_chain   2 expired   3 fee_too_low   4 bad_signature
    5 the key rung (keys/rules.py: account_migrated, hybrid_key_required)
    6 nonce_too_low   7 nonce_too_high   8 insufficient_fee_balance
Stateless rungs come first so that a node never reads state for a transaction it can refuse
from its bytes, and the signature comes before the state rungs so a forged transaction is
refused as forged whatever the account holds. A transaction that fails any rung is never in a
block: `machine.apply_block` refuses such a block as invalid.

Charging: a transaction that passes pays its whole fee in FLX and its nonce goes up by one,
whatever its message rule then decides. The fee leaves the sender here and reaches the block's
proposer at the end of the block (machine.py), so the FLX supply never changes.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.auth import errors
from metanode.state.auth.messages import check_envelope
from metanode.state.auth.params import AuthParams
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.bank.accounts import Account, read_account, write_account
from metanode.state.codes import OK
from metanode.state.keys.rules import check_keys
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom, Transaction


def check_account(account: Account, tx: Transaction) -> int:
    """The stateful rungs (6–8) against the sender's account record."""
    if tx.nonce < account.nonce:
        return errors.NONCE_TOO_LOW
    if tx.nonce > account.nonce:
        return errors.NONCE_TOO_HIGH
    if account.balance(Denom.FLX) < tx.fee:
        return errors.INSUFFICIENT_FEE_BALANCE
    return OK


def guard_ladder(
    reader: StateReader,
    params: AuthParams,
    chain_id: str,
    height: int,
    tx: Transaction,
    sender: Address,
    signature_verified: bool,
) -> int:
    """Every rung in order; OK if the transaction may be in a block at `height`."""
    code = check_envelope(tx, chain_id, height, params.fee_min)
    if code != OK:
        return code
    if not signature_verified and not verify_tx_signature(tx):
        return errors.BAD_SIGNATURE
    account = read_account(reader, sender)
    code = check_keys(reader, tx, sender, account.nonce)
    if code != OK:
        return code
    return check_account(account, tx)


def charge(writer: Overlay, sender: Address, tx: Transaction) -> None:
    """Bump the nonce and take the fee; only after the ladder said OK."""
    account = read_account(writer, sender)
    check(account.nonce == tx.nonce, "charging a transaction that failed the ladder")
    write_account(writer, sender, account.charged(tx.fee))
