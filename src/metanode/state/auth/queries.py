"""auth queries: read-only. `account` is what the mempool asks before admitting a transaction."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.auth.params import AuthParams, read_params
from metanode.state.bank.accounts import read_account
from metanode.state.keys.rules import check_keys
from metanode.state.view import StateReader
from metanode.types import Address, Denom, Transaction


@dataclass(frozen=True, slots=True)
class AccountView:
    nonce: int  # the nonce the account's next transaction must carry
    flx_balance: int  # what it can pay fees from, in FLX base units


def account(reader: StateReader, address: Address) -> AccountView:
    record = read_account(reader, address)
    return AccountView(record.nonce, record.balance(Denom.FLX))


def nonce(reader: StateReader, address: Address) -> int:
    return read_account(reader, address).nonce


def params(reader: StateReader) -> AuthParams:
    return read_params(reader)


class AdmissionView:
    """The mempool's `LedgerView` over committed state: the fee floor and each sender's
    (next nonce, FLX balance), and a balance of another denomination (what a transfer of it
    would move). Build one per height from the store's current reader."""

    __slots__ = ("_reader", "fee_min")

    def __init__(self, reader: StateReader) -> None:
        self._reader = reader
        self.fee_min = read_params(reader).fee_min

    def account(self, address: Address) -> tuple[int, int]:
        record = read_account(self._reader, address)
        return record.nonce, record.balance(Denom.FLX)

    def balance(self, address: Address, denom: Denom) -> int:
        return read_account(self._reader, address).balance(denom)

    def key_rung(self, tx: Transaction, sender: Address, nonce: int) -> int:
        return check_keys(self._reader, tx, sender, nonce)
