"""bank queries: read-only, over any `StateReader` (committed state or a block's overlay)."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.bank.accounts import Account, read_account
from metanode.state.bank.rules import read_supply
from metanode.state.view import StateReader
from metanode.types import Address, Denom


def account(reader: StateReader, address: Address) -> Account:
    """The whole record: `.nonce` and `.balance(denom)`; an unknown address reads as empty."""
    return read_account(reader, address)


def balance(reader: StateReader, address: Address, denom: Denom) -> int:
    return read_account(reader, address).balance(denom)


@dataclass(frozen=True, slots=True)
class Supply:
    genesis: int
    minted: int
    burned: int

    @property
    def total(self) -> int:
        return self.genesis + self.minted - self.burned


def supply(reader: StateReader, denom: Denom) -> Supply:
    return Supply(*read_supply(reader, denom))
