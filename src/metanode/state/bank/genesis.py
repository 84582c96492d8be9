"""bank genesis: accounts in, accounts out (round-trip tested in tests/state/test_genesis.py).

Staking's pool accounts are not exported: their balances follow from staking's records (it
exports its stakes, and importing them refills the pools). The treasury is exported as an
account: nothing else records its balance.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.bank import keys
from metanode.state.bank.accounts import (
    POOL_ADDRESSES,
    Account,
    decode_account,
    write_account,
)
from metanode.state.bank.rules import set_genesis_supply
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    address: Address
    balances: tuple[int, int, int, int]  # GEN, NEX, FLX, AUR in base units
    nonce: int = 0


def import_genesis(writer: Overlay, accounts: tuple[GenesisAccount, ...]) -> None:
    for entry in accounts:
        write_account(writer, entry.address, Account(entry.nonce, entry.balances))


def finish_genesis(writer: Overlay) -> None:
    """Record each denomination's genesis supply: the sum of every balance written so far,
    module accounts included (call after every module has imported)."""
    totals = [0, 0, 0, 0]
    for key, value in writer.scan(keys.ACCOUNT):
        account = decode_account(value, key)
        for index, amount in enumerate(account.balances):
            totals[index] += amount
    for denom in Denom:
        set_genesis_supply(writer, denom, totals[denom - 1])


def export_genesis(reader: StateReader) -> tuple[GenesisAccount, ...]:
    exported = []
    for key, value in reader.scan(keys.ACCOUNT):
        address = Address(key[len(keys.ACCOUNT) :])
        if address in POOL_ADDRESSES:
            continue
        account = decode_account(value, key)
        exported.append(GenesisAccount(address, account.balances, account.nonce))
    return tuple(exported)
