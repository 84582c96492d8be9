"""bank invariants, named, checked after every block in tests (and by `metanode store check`).

- `supply_is_held`: for each denomination, the balances of all accounts (module accounts
  included) sum to genesis + minted − burned.
- `no_negative_balance`: every stored balance is a uint64 (the record decoder enforces the
  type; this names the rule) and no empty account is stored.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state import constants
from metanode.state.bank import keys
from metanode.state.bank.accounts import decode_account
from metanode.state.bank.rules import read_supply
from metanode.state.view import StateReader
from metanode.types import Denom


def supply_is_held(reader: StateReader) -> None:
    totals = [0, 0, 0, 0]
    for key, value in reader.scan(keys.ACCOUNT):
        for index, amount in enumerate(decode_account(value, key).balances):
            totals[index] += amount
    for denom in Denom:
        genesis, minted, burned = read_supply(reader, denom)
        check(
            totals[denom - 1] == genesis + minted - burned,
            f"bank.supply_is_held: {denom.name} balances sum to {totals[denom - 1]}, "
            f"supply is {genesis} + {minted} − {burned}",
        )


def no_negative_balance(reader: StateReader) -> None:
    for key, value in reader.scan(keys.ACCOUNT):
        account = decode_account(value, key)
        check(
            all(0 <= amount <= constants.supply_max for amount in account.balances),
            f"bank.no_negative_balance: account {key.hex()} holds {account.balances}",
        )
        check(not account.is_empty, f"bank.no_negative_balance: empty account {key.hex()} stored")


INVARIANTS = (supply_is_held, no_negative_balance)
