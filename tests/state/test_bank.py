"""bank: transfers, module accounts, supply per denomination, and the account record."""

from __future__ import annotations

import pytest

from metanode.errors import InvariantViolation
from metanode.state.bank import accounts, errors, keys
from metanode.state.bank import queries as bank_queries
from metanode.state.bank.accounts import MODULE_ADDRESSES, Account, decode_account, read_account
from metanode.state.bank.invariants import supply_is_held
from metanode.state.codes import OK
from metanode.state.view import MemoryReader
from metanode.types import Address, Denom, Transfer
from tests.state.support import COIN, FEE, Chain, Wallet


def test_transfer_moves_exactly_the_amount() -> None:
    chain = Chain()
    alice, bob = Wallet.of(0), Wallet.of(1)
    reader = chain.state.reader
    a_before = bank_queries.account(reader, alice.address)
    b_before = bank_queries.account(reader, bob.address)
    changes = chain.run([alice.tx(0, Transfer(bob.address, 7 * COIN, Denom.AUR))])
    assert changes.receipts[0].code == OK
    reader = chain.state.reader
    assert (
        bank_queries.balance(reader, alice.address, Denom.AUR)
        == a_before.balance(Denom.AUR) - 7 * COIN
    )
    assert (
        bank_queries.balance(reader, bob.address, Denom.AUR)
        == b_before.balance(Denom.AUR) + 7 * COIN
    )
    assert (
        bank_queries.balance(reader, alice.address, Denom.FLX) == a_before.balance(Denom.FLX) - FEE
    )


def test_flx_transfer_pays_fee_and_amount_from_one_balance() -> None:
    chain = Chain()
    alice = Wallet.of(0)
    flx = bank_queries.balance(chain.state.reader, alice.address, Denom.FLX)
    # Exactly everything: the fee is charged first, so the amount no longer fits.
    changes = chain.run([alice.tx(0, Transfer(Wallet.of(1).address, flx, Denom.FLX))])
    assert changes.receipts[0].code == errors.INSUFFICIENT_FUNDS
    changes = chain.run([alice.tx(1, Transfer(Wallet.of(1).address, flx - 2 * FEE, Denom.FLX))])
    assert changes.receipts[0].code == OK
    assert bank_queries.balance(chain.state.reader, alice.address, Denom.FLX) == 0


@pytest.mark.parametrize(
    ("amount", "to_module", "code"),
    [
        (0, False, errors.AMOUNT_MUST_NOT_BE_ZERO),
        (10**15 * COIN // 10**6, False, errors.INSUFFICIENT_FUNDS),
        (1, True, errors.RECIPIENT_IS_MODULE_ACCOUNT),
    ],
)
def test_failed_transfers_change_nothing_but_fee_and_nonce(amount, to_module, code) -> None:
    chain = Chain()
    alice = Wallet.of(0)
    target = sorted(MODULE_ADDRESSES)[0] if to_module else Wallet.of(1).address
    before = dict(chain.ledger.items)
    changes = chain.run([alice.tx(0, Transfer(target, amount, Denom.GEN))])
    assert changes.receipts[0].code == code
    after = chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    from metanode.state.bank.keys import account
    from metanode.state.genesis.keys import TIP

    assert changed == {account(alice.address), account(chain.proposer), TIP}


def test_self_transfer_is_allowed_and_changes_no_balance() -> None:
    chain = Chain()
    alice = Wallet.of(0)
    gen = bank_queries.balance(chain.state.reader, alice.address, Denom.GEN)
    changes = chain.run([alice.tx(0, Transfer(alice.address, gen, Denom.GEN))])
    assert changes.receipts[0].code == OK
    assert bank_queries.balance(chain.state.reader, alice.address, Denom.GEN) == gen


def test_supply_is_tracked_per_denomination() -> None:
    chain = Chain()
    for denom in Denom:
        supply = bank_queries.supply(chain.state.reader, denom)
        assert supply.minted == supply.burned == 0
        assert supply.total == supply.genesis > 0
    supply_is_held(chain.state.reader)


def test_supply_invariant_catches_a_stray_balance() -> None:
    chain = Chain()
    items = dict(chain.ledger.items)
    from metanode.state.bank.keys import account

    items[account(Wallet.of(99).address)] = Account(0, (0, 0, 1, 0)).encode()
    with pytest.raises(InvariantViolation, match="supply_is_held"):
        supply_is_held(MemoryReader(items))


def test_account_record_roundtrip_and_corruption() -> None:
    record = Account(3, (1, 2**64 - 1, 0, 24))
    assert decode_account(record.encode(), b"k") == record
    for corrupt in (
        b"",
        b"\x85\x00",
        record.encode()[:-1],
        b"\x84\x00\x00\x00\x00",
        b"\x85\x00\x00\x00\x00\x20",
        b"\x85\x18\x01\x00\x00\x00\x00",
    ):
        with pytest.raises(InvariantViolation):
            decode_account(corrupt, b"k")
    with pytest.raises(InvariantViolation):
        record.with_balance(Denom.GEN, -1)
    with pytest.raises(InvariantViolation):
        Account(0, (0, 0, 5, 0)).charged(6)


def test_a_read_account_is_decoded_once_per_stored_bytes_and_corruption_always_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[bytes] = []

    def counting(data: bytes, key: bytes) -> Account:
        decoded.append(data)
        return decode_account(data, key)

    monkeypatch.setattr(accounts, "decode_account", counting)
    monkeypatch.setattr(accounts, "_DECODED", type(accounts._DECODED)())
    monkeypatch.setattr(accounts, "_DECODED_MAX", 2)
    owners = [Address(bytes([n]) * 20) for n in range(3)]
    records = [Account(n, (n, 0, 10**9 + n, 0)) for n in range(3)]
    reader = MemoryReader(
        {
            keys.account(owner): record.encode()
            for owner, record in zip(owners, records, strict=True)
        }
    )
    first = read_account(reader, owners[0])
    assert first == records[0] and read_account(reader, owners[0]) is first
    assert decoded == [records[0].encode()]
    read_account(reader, owners[1])
    read_account(reader, owners[2])  # past the bound: the oldest entry goes
    assert len(accounts._DECODED) == 2 and records[0].encode() not in accounts._DECODED
    assert read_account(reader, owners[0]) == records[0]
    assert len(decoded) == 4
    corrupt = MemoryReader({keys.account(owners[0]): b"\x85\x18\x01\x00\x00\x00\x00"})
    for _ in range(2):
        with pytest.raises(InvariantViolation):
            read_account(corrupt, owners[0])
    with pytest.raises(AttributeError, match="immutable"):
        first.nonce = 9  # type: ignore[misc]
