"""bank rules: the only code that writes balances and supply.

Each handler is a guard ladder that returns a code before any write, then writes; so a
failing message changes nothing (machine.py checks that with the overlay's write count).
`move`, `mint`, `burn` and `credit` are bank's narrow interface for other modules' rules.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state import constants
from metanode.state.bank import errors, keys
from metanode.state.bank.accounts import MODULE_ADDRESSES, read_account, write_account
from metanode.state.bank.messages import check_transfer
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.values import decode_uints, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom, Transfer


def on_transfer(writer: Overlay, context: TxContext, message: Transfer) -> int:
    code = check_transfer(message)
    if code != OK:
        return code
    if message.to in MODULE_ADDRESSES:
        return errors.RECIPIENT_IS_MODULE_ACCOUNT
    return move(writer, context.sender, message.to, message.denom, message.amount)


def move(writer: Overlay, source: Address, target: Address, denom: Denom, amount: int) -> int:
    """Move `amount` of `denom`; INSUFFICIENT_FUNDS (and no write) if `source` lacks it."""
    sender = read_account(writer, source)
    have = sender.balance(denom)
    if have < amount:
        return errors.INSUFFICIENT_FUNDS
    if source == target:
        return OK
    write_account(writer, source, sender.with_balance(denom, have - amount))
    credit(writer, target, denom, amount)
    return OK


def credit(writer: Overlay, target: Address, denom: Denom, amount: int) -> None:
    """Add coins that already exist in the supply (a move's second half, the block's fees)."""
    if amount == 0:
        return
    account = read_account(writer, target)
    write_account(writer, target, account.with_balance(denom, account.balance(denom) + amount))


def read_supply(reader: StateReader, denom: Denom) -> tuple[int, int, int]:
    """(genesis, minted, burned) of `denom`."""
    key = keys.supply(denom)
    data = reader.get(key)
    if data is None:
        return (0, 0, 0)
    genesis, minted, burned = decode_uints(data, key, 3)
    return (genesis, minted, burned)


def can_mint(reader: StateReader, denom: Denom, amount: int) -> int:
    genesis, minted, burned = read_supply(reader, denom)
    if genesis + minted - burned + amount > constants.supply_max:
        return errors.SUPPLY_OVERFLOW
    return OK


def mint(writer: Overlay, target: Address, denom: Denom, amount: int) -> int:
    """Create `amount` new coins for `target`; SUPPLY_OVERFLOW (and no write) past uint64."""
    code = can_mint(writer, denom, amount)
    if code != OK:
        return code
    genesis, minted, burned = read_supply(writer, denom)
    writer.put(keys.supply(denom), encode_value([genesis, minted + amount, burned]))
    credit(writer, target, denom, amount)
    return OK


def burn(writer: Overlay, source: Address, denom: Denom, amount: int) -> None:
    """Destroy `amount` held by `source` (a module's rule, which has checked the balance)."""
    account = read_account(writer, source)
    check(account.balance(denom) >= amount, f"burn of {amount} from an account holding less")
    genesis, minted, burned = read_supply(writer, denom)
    writer.put(keys.supply(denom), encode_value([genesis, minted, burned + amount]))
    write_account(writer, source, account.with_balance(denom, account.balance(denom) - amount))


def set_genesis_supply(writer: Overlay, denom: Denom, amount: int) -> None:
    check(0 <= amount <= constants.supply_max, f"genesis supply of {denom.name} out of range")
    writer.put(keys.supply(denom), encode_value([amount, 0, 0]))
