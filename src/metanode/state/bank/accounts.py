"""The account record: a nonce and four balances, in one state value.

Rules:
- Balances are uint64 base units, never negative: a debit below zero is a bug here
  (rules check funds first and return a code), so the constructors check it.
- An account whose nonce and balances are all zero is not stored (its key is deleted), so the
  state holds only accounts that exist, and a non-inclusion proof shows an empty account.
- auth owns `nonce`; bank owns `balances`. Both read and write through this file only.
- Within a block the record travels decoded (`Overlay.get_object`/`put_object`): decoded once
  when first touched, encoded once when the block's writes are listed.
"""

from __future__ import annotations

from collections import OrderedDict

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.bank import keys
from metanode.state.values import decode_uints, encode_plain
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom

_SUPPLY_MAX = constants.supply_max
_set = object.__setattr__


class Account:
    """An immutable account record; `balances` are indexed by `Denom - 1`.

    The constructor does not check: records come from `decode_account` (which checks every
    field) or from the methods below (which check the one amount they change). Immutable for
    real, not by convention: one decoded record serves every reader of the same bytes
    (`_DECODED` below), so a write to one would change the others."""

    __slots__ = ("balances", "nonce")
    nonce: int
    balances: tuple[int, int, int, int]

    def __init__(self, nonce: int = 0, balances: tuple[int, int, int, int] = (0, 0, 0, 0)) -> None:
        _set(self, "nonce", nonce)
        _set(self, "balances", balances)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Account is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Account)
            and self.nonce == other.nonce
            and self.balances == other.balances
        )

    def __hash__(self) -> int:
        return hash((self.nonce, self.balances))

    def __repr__(self) -> str:
        return f"Account(nonce={self.nonce}, balances={self.balances})"

    def balance(self, denom: Denom) -> int:
        return self.balances[denom - 1]

    def with_balance(self, denom: Denom, amount: int) -> Account:
        if not 0 <= amount <= _SUPPLY_MAX:
            raise InvariantViolation(f"balance {amount} of {denom.name} out of range")
        index = denom - 1
        balances = self.balances
        return Account(self.nonce, (*balances[:index], amount, *balances[index + 1 :]))  # type: ignore[arg-type]

    def charged(self, fee: int) -> Account:
        """The record after paying `fee` FLX for a transaction: nonce + 1, fee taken."""
        gen, nex, flx, aur = self.balances
        if not 0 <= fee <= flx or self.nonce >= constants.uint64_max:
            raise InvariantViolation(f"charging {fee} to {self!r}")
        return Account(self.nonce + 1, (gen, nex, flx - fee, aur))

    @property
    def is_empty(self) -> bool:
        return self.nonce == 0 and not any(self.balances)

    def encode(self) -> bytes:
        # Every field was checked on its way in (decode or the methods above).
        return encode_plain([self.nonce, *self.balances])


EMPTY = Account()


def decode_account(data: bytes, key: bytes) -> Account:
    nonce, gen, nex, flx, aur = decode_uints(data, key, 5)
    return Account(nonce, (gen, nex, flx, aur))


# Accounts already decoded, by their stored bytes. Between two blocks a sender's record is
# read by every admission of its transactions, by the proposer's reap, by the block's
# execution and by the pool's clean-up after commit: the same bytes each time, and decoding
# them strictly (2.5 µs) was 8.5% of a validator's loop at full load (py-spy, 4 validators).
# Keyed by the bytes, not the state key, an entry can never be stale: it is the decoding of
# exactly those bytes, and `Account` is immutable. First in, first out: a hit costs one dict
# lookup, with no reordering.
_DECODED: OrderedDict[bytes, Account] = OrderedDict()
_DECODED_MAX = 32_768  # ≈ 10 MB at most


def _decode_remembered(data: bytes, key: bytes) -> Account:
    account = _DECODED.get(data)
    if account is None:
        account = decode_account(data, key)
        _DECODED[data] = account
        if len(_DECODED) > _DECODED_MAX:
            _DECODED.popitem(last=False)
    return account


def read_account(reader: StateReader, address: Address) -> Account:
    key = keys.ACCOUNT + address.raw
    if type(reader) is Overlay:
        account = reader.get_object(key, _decode_remembered)
    else:
        data = reader.get(key)
        account = None if data is None else _decode_remembered(data, key)
    return EMPTY if account is None else account


def write_account(writer: Overlay, address: Address, account: Account) -> None:
    key = keys.ACCOUNT + address.raw
    if account.is_empty:
        writer.delete(key)
    else:
        writer.put_object(key, account)


# Module accounts hold coins on behalf of a module (bonded and unbonding stake, registry stake,
# the treasury: its share of fees and slashed stake, until governance spends it; proposals'
# deposits). Their addresses hash `module\x00<name>` under the address domain tag, an input no
# public key can produce (`Address.from_public_key` hashes a 2-byte length then the key, and no
# key is 0x6d6f = 28,015 bytes long), so nobody holds their keys. Transfers to them are refused
# (bank code 203): only their module moves their coins, which keeps each module's own accounting
# exact.
MODULE_ACCOUNT_NAMES = (
    "staking/bonded",
    "staking/unbonding",
    "registry/bonded",
    "treasury",
    "governance/deposits",
    "apps/escrow",
    "court/bonds",
    "court/slashed",
)


def module_address(name: str) -> Address:
    check(name in MODULE_ACCOUNT_NAMES, f"{name!r} is not a module account")
    return Address(tagged_hash(tags.ADDRESS, b"module\x00" + name.encode())[:20])


MODULE_ADDRESSES = frozenset(module_address(name) for name in MODULE_ACCOUNT_NAMES)
# The treasury's balance is its own record (what fees paid it, until governance spends it), so
# a genesis file lists it like any account; the other pools follow from their module's records
# (stakes, registry stakes, proposals' deposits) and are refilled by that module's genesis, so a
# genesis file never lists them.
TREASURY = module_address("treasury")
POOL_ADDRESSES = MODULE_ADDRESSES - {TREASURY}
