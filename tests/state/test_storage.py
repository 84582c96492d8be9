"""state/storage: placing a blob (message 28) picks the rendezvous nodes, charges the owner
per share and counts quotas; every refusal in ladder order changes nothing but the fee;
fault reports (message 29) move a share once k holders report it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto.hashing import blake3_hash
from metanode.errors import ConfigError
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK
from metanode.state.genesis.document import from_tree
from metanode.state.storage import errors
from metanode.state.storage import keys as storage_keys
from metanode.state.storage import queries as storage_queries
from metanode.state.storage.records import Placement
from metanode.state.storage.rules import share_fee
from metanode.state.values import decode_uints
from metanode.storage import coding, placement
from metanode.types import (
    DeleteBlob,
    Denom,
    DeployStoredApp,
    PlaceBlob,
    ReportStorageFault,
    Transfer,
)
from metanode.types.messages import Message
from tests.state.support import COIN, FEE, Chain, Wallet, genesis_tree, validator_wallet
from tests.state.test_apps import COUNTER

VALIDATORS = 7
CHUNK = 1024


def storage_chain(epoch_blocks: int = 1, **storage: int) -> Chain:
    tree: dict[str, Any] = genesis_tree(wallets=2, validators=VALIDATORS)
    tree["parameters"]["storage"] = storage
    tree["parameters"].setdefault("staking", {})["epoch_blocks"] = epoch_blocks
    tree["accounts"] += [
        {"address": str(validator_wallet(i).address), "balances": {"FLX": 100 * COIN}}
        for i in range(VALIDATORS)
    ]
    return Chain(from_tree(tree))


def place_message(data: bytes, k: int = 4, n: int = 6) -> PlaceBlob:
    encoded = coding.encode(data, k, n, CHUNK)
    return PlaceBlob(encoded.root, encoded.coded_root, len(data), CHUNK, k, n)


class Sender:
    def __init__(self, chain: Chain, wallet: Wallet) -> None:
        self.chain, self.wallet, self.nonce = chain, wallet, 0

    def send(self, message: Message) -> int:
        tx = self.wallet.tx(self.nonce, message)
        self.nonce += 1
        return self.chain.run([tx]).receipts[0].code


def flx(chain: Chain, wallet_or_address: Any) -> int:
    address = getattr(wallet_or_address, "address", wallet_or_address)
    return bank_queries.balance(chain.state.reader, address, Denom.FLX)


def test_a_placement_picks_the_rendezvous_nodes_and_pays_each_share() -> None:
    chain = storage_chain(fee_per_kib=7)
    owner = Sender(chain, Wallet.of(0))
    message = place_message(blake3_hash(b"blob", length=10_000))
    before = {i: flx(chain, validator_wallet(i)) for i in range(VALIDATORS)}
    owner_before = flx(chain, owner.wallet)
    assert owner.send(message) == OK
    record = storage_queries.placement(chain.state.reader, message.root)
    assert record is not None and record.owner == owner.wallet.address
    addresses = [validator_wallet(i).address for i in range(VALIDATORS)]
    expected = placement.place(message.root, [a.raw for a in addresses], 6)
    assert tuple(holder.raw for holder in record.holders) == expected
    share_bytes = record.layout.share_bytes  # 10 data chunks in 3 stripes of 4: 3 KiB a share
    assert share_bytes == 3 * CHUNK
    fee = 7 * 3
    for i, address in enumerate(addresses):
        paid = fee if address in record.holders else 0
        proposer_fees = flx(chain, address) - before[i] - paid
        assert proposer_fees >= 0 and (proposer_fees == 0 or i == 0)
        assert storage_queries.node_usage(chain.state.reader, address).bytes_held == (
            share_bytes if paid else 0
        )
    assert owner_before - flx(chain, owner.wallet) == 6 * fee + FEE  # shares + the transaction fee
    assert storage_queries.account_bytes(chain.state.reader, owner.wallet.address) == 10_000


def test_place_ladder_in_order() -> None:
    chain = storage_chain(account_bytes_max=20_000)
    owner = Sender(chain, Wallet.of(0))
    assert owner.send(PlaceBlob(bytes(32), bytes(32), 100, CHUNK, 5, 4)) == errors.LAYOUT_INVALID
    assert owner.send(PlaceBlob(bytes(32), bytes(32), 0, CHUNK, 1, 1)) == errors.LAYOUT_INVALID
    first = place_message(b"a" * 15_000)
    assert owner.send(first) == OK
    assert owner.send(first) == errors.BLOB_EXISTS
    assert owner.send(place_message(b"b" * 5_001)) == errors.ACCOUNT_QUOTA_EXCEEDED
    assert owner.send(place_message(b"c" * 100, 1, VALIDATORS + 1)) == errors.NOT_ENOUGH_NODES
    assert storage_queries.account_bytes(chain.state.reader, owner.wallet.address) == 15_000


def test_an_owner_who_cannot_pay_is_refused_and_nothing_changes() -> None:
    chain = storage_chain(fee_per_kib=COIN)
    owner = Sender(chain, Wallet.of(1))
    message = place_message(b"d" * 100, 1, 1)
    # One share of 2,000 KiB at 1 FLX a KiB: more than the owner's 1,000 FLX.
    big = PlaceBlob(message.root, message.coded_root, 2_000 * CHUNK, CHUNK, 1, 1)
    balance = flx(chain, owner.wallet)
    assert owner.send(big) == errors.FEE_UNFUNDED
    assert flx(chain, owner.wallet) == balance - FEE  # the transaction fee only
    assert storage_queries.placement(chain.state.reader, message.root) is None


def test_a_full_node_is_passed_over_and_then_too_few_remain() -> None:
    chain = storage_chain(node_bytes_max=2 * CHUNK)
    owner = Sender(chain, Wallet.of(0))
    # Each blob is one stripe: one chunk per share; seven nodes hold two chunks each.
    codes = [owner.send(place_message(bytes([i]) * 500, 1, 6)) for i in range(3)]
    assert codes == [OK, OK, errors.NOT_ENOUGH_NODES]
    for i in range(VALIDATORS):
        usage = storage_queries.node_usage(chain.state.reader, validator_wallet(i).address)
        assert usage.bytes_held <= 2 * CHUNK


def placed(chain: Chain, seed: bytes) -> tuple[Sender, PlaceBlob, Placement, list[Sender]]:
    """Wallet 0 places 5,000 bytes from `seed` 4-of-6: (the owner, its message, the placement,
    each share's holder as a sender)."""
    owner = Sender(chain, Wallet.of(0))
    message = place_message(blake3_hash(seed, length=5_000), 4, 6)
    assert owner.send(message) == OK
    record = storage_queries.placement(chain.state.reader, message.root)
    assert record is not None
    wallets = {validator_wallet(i).address: validator_wallet(i) for i in range(VALIDATORS)}
    return owner, message, record, [Sender(chain, wallets[a]) for a in record.holders]


def test_k_reports_move_a_share_to_the_next_ranked_node() -> None:
    chain = storage_chain()
    owner, message, record, holders = placed(chain, b"moved")
    wallets = {validator_wallet(i).address: validator_wallet(i) for i in range(VALIDATORS)}
    spare = next(address for address in wallets if address not in record.holders)
    outsider = Sender(chain, wallets[spare])
    report = ReportStorageFault(message.root, 2)
    assert owner.send(ReportStorageFault(bytes(32), 2)) == errors.BLOB_UNKNOWN
    assert holders[0].send(ReportStorageFault(message.root, 6)) == errors.SHARE_OUT_OF_RANGE
    assert outsider.send(report) == errors.REPORTER_NOT_HOLDER
    assert holders[2].send(report) == errors.REPORTER_NOT_HOLDER
    assert holders[0].send(report) == OK
    assert holders[0].send(report) == errors.FAULT_ALREADY_REPORTED
    for reporter in (1, 3):
        assert holders[reporter].send(report) == OK
    unchanged = storage_queries.placement(chain.state.reader, message.root)
    assert unchanged is not None and unchanged.holders == record.holders
    assert holders[4].send(report) == OK  # the k-th distinct holder
    moved = storage_queries.placement(chain.state.reader, message.root)
    assert moved is not None
    assert moved.holders == (*record.holders[:2], spare, *record.holders[3:])
    assert moved.since == (record.height,) * 2 + (chain.state.height,) + (record.height,) * 3
    gone = storage_queries.node_usage(chain.state.reader, record.holders[2])
    assert gone.faults == 4 and gone.bytes_held == 0
    assert storage_queries.node_usage(chain.state.reader, spare).bytes_held > 0
    # The reports were cleared: the new holder starts with none against it.
    assert holders[0].send(report) == OK


def chain_nonce(chain: Chain, wallet: Wallet) -> int:
    return bank_queries.account(chain.state.reader, wallet.address).nonce


CHAIN = storage_chain(fee_per_kib=1)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(0, 2**26),
    chunk=st.integers(0, 2**17),
    k=st.integers(0, 40),
    n=st.integers(0, 40),
)
def test_any_placement_is_placed_or_refused_with_a_code(
    size: int, chunk: int, k: int, n: int
) -> None:
    # One chain for every example: a refusal must leave it as it was for the next.
    chain = CHAIN
    owner = Sender(chain, Wallet.of(0))
    owner.nonce = chain_nonce(chain, owner.wallet)
    root = blake3_hash(repr((size, chunk, k, n)).encode())
    code = owner.send(PlaceBlob(root, bytes(32), size, chunk, k, n))
    valid = coding.layout_problem(size, k, n, chunk) is None
    placed = storage_queries.placement(chain.state.reader, root) is not None
    assert placed == (code == OK)
    if not valid:
        assert code == errors.LAYOUT_INVALID
    else:
        assert code in {
            OK,
            errors.NOT_ENOUGH_NODES,
            errors.ACCOUNT_QUOTA_EXCEEDED,
            errors.FEE_UNFUNDED,
            errors.BLOB_EXISTS,
        }


def test_share_fee_rounds_up_to_a_kib() -> None:
    params = storage_queries.params(CHAIN.state.reader)
    assert (
        share_fee(params, 1) == 1 and share_fee(params, 1024) == 1 and share_fee(params, 1025) == 2
    )


@pytest.mark.parametrize("bad", [{"fee_per_kib": COIN + 1}, {"node_bytes_max": 0}])
def test_genesis_refuses_parameters_out_of_range(bad: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=r"parameters\.storage"):
        storage_chain(**bad)


def test_on_only_the_placement_nodes_a_survivor_takes_a_second_share() -> None:
    chain = storage_chain()
    owner = Sender(chain, Wallet.of(0))
    message = place_message(blake3_hash(b"crowded", length=5_000), 4, VALIDATORS)
    assert owner.send(message) == OK
    record = storage_queries.placement(chain.state.reader, message.root)
    assert record is not None
    wallets = {validator_wallet(i).address: validator_wallet(i) for i in range(VALIDATORS)}
    holders = [Sender(chain, wallets[address]) for address in record.holders]
    # Shares 5 and 6 are gone; the first four holders report share 6 after reporting 5.
    for reporter in holders[:4]:
        assert reporter.send(ReportStorageFault(message.root, 5)) == OK
    after_five = storage_queries.placement(chain.state.reader, message.root)
    assert after_five is not None
    # Share 6's holder stood reported by nobody yet, so share 5 may go to it; either way
    # never back to share 5's own failed node.
    assert after_five.holders[5] != record.holders[5]
    for reporter in holders[:4]:
        assert reporter.send(ReportStorageFault(message.root, 6)) == OK
    final = storage_queries.placement(chain.state.reader, message.root)
    assert final is not None
    assert record.holders[6] not in final.holders[6:]
    assert set(final.holders) <= set(record.holders)


def test_the_owner_deletes_a_blob_and_its_quotas_are_free_again() -> None:
    chain = storage_chain(account_bytes_max=6_000)
    owner, message, record, holders = placed(chain, b"deleted")
    assert holders[0].send(ReportStorageFault(message.root, 1)) == OK
    assert owner.send(place_message(b"x" * 2_000)) == errors.ACCOUNT_QUOTA_EXCEEDED
    changes = chain.run([owner.wallet.tx(owner.nonce, DeleteBlob(message.root))])
    owner.nonce += 1
    assert changes.receipts[0].code == OK
    assert [event.kind for event in changes.receipts[0].events] == ["blob_deleted"]
    reader = chain.state.reader
    assert storage_queries.placement(reader, message.root) is None
    assert storage_queries.account_bytes(reader, owner.wallet.address) == 0
    for holder in record.holders:
        assert storage_queries.node_usage(reader, holder).bytes_held == 0
    assert list(reader.scan(storage_keys.faults_of(message.root, 1))) == []
    assert owner.send(message) == OK  # the quota is free, and the same blob may come again


def test_delete_refusals_in_ladder_order_change_nothing_but_the_fee() -> None:
    chain = storage_chain(epoch_fee_per_kib=0)
    owner, other = Sender(chain, Wallet.of(0)), Sender(chain, Wallet.of(1))
    message = place_message(COUNTER, 2, 4)
    assert owner.send(message) == OK
    assert owner.send(DeleteBlob(bytes(32))) == errors.BLOB_UNKNOWN
    assert other.send(DeleteBlob(message.root)) == errors.BLOB_NOT_OWNER
    deploy = DeployStoredApp(
        message.root, message.size, blake3_hash(COUNTER), ("increment",), 1, 1, 1_000
    )
    assert owner.send(deploy) == OK
    balance = flx(chain, owner.wallet)
    assert owner.send(DeleteBlob(message.root)) == errors.BLOB_IN_USE
    assert flx(chain, owner.wallet) == balance - FEE
    assert storage_queries.placement(chain.state.reader, message.root) is not None
    assert storage_queries.account_bytes(chain.state.reader, owner.wallet.address) == message.size


@settings(max_examples=25, deadline=None)
@given(
    root=st.sampled_from([bytes(32), place_message(COUNTER, 2, 4).root]),
    sender=st.integers(0, 1),
    size=st.sampled_from([0, len(COUNTER), 2**16 + 1]),
    functions=st.lists(st.sampled_from(["increment", "a", ""]), max_size=3).map(tuple),
    delete=st.booleans(),
)
def test_any_deploy_by_root_or_delete_is_done_or_refused_cleanly(
    root: bytes, sender: int, size: int, functions: tuple[str, ...], delete: bool
) -> None:
    chain = storage_chain()
    owner = Sender(chain, Wallet.of(0))
    assert owner.send(place_message(COUNTER, 2, 4)) == OK
    who = owner if sender == 0 else Sender(chain, Wallet.of(1))
    message: Message = (
        DeleteBlob(root)
        if delete
        else DeployStoredApp(root, size, blake3_hash(COUNTER), functions, 1, 1, 1_000)
    )
    before = dict(chain.ledger.items)
    code = who.send(message)
    if code != OK:
        # Only the fee, the nonce, the tip and the per-block records changed.
        written = {key for key, value in chain.ledger.items.items() if before.get(key) != value}
        assert not {key for key in written if key.startswith(storage_keys.PREFIX)}
        assert not {key for key in written if key.startswith(b"\x08\x01")}  # no app


def test_each_epoch_the_owner_pays_every_holder_its_share_fee() -> None:
    chain = storage_chain(epoch_blocks=3, epoch_fee_per_kib=5)
    owner, message, record, _holders = placed(chain, b"rented")
    fee = 5 * 2  # a share is two 1 KiB chunks (5 data chunks in 2 stripes of 4)
    assert record.layout.share_bytes == 2 * CHUNK
    paid: list[int] = []
    for _ in range(6):
        before = flx(chain, owner.wallet)
        holders_before = [flx(chain, holder) for holder in record.holders]
        chain.run([])
        paid.append(before - flx(chain, owner.wallet))
        received = [flx(chain, h) - b for h, b in zip(record.holders, holders_before, strict=True)]
        assert received == [paid[-1] // 6] * 6
    boundaries = [chain.state.height - 5 + i for i in range(6)]
    assert paid == [6 * fee if height % 3 == 0 else 0 for height in boundaries]
    assert sum(paid) == 2 * 6 * fee
    assert storage_queries.placement(chain.state.reader, message.root) is not None


def test_an_owner_who_cannot_pay_loses_the_blob_after_the_grace_epochs() -> None:
    per_epoch = 6 * 2 * COIN  # six shares of 2 KiB at 1 FLX a KiB
    chain = storage_chain(epoch_fee_per_kib=COIN, grace_epochs=2)
    owner, message, record, _holders = placed(chain, b"unpaid")
    reader = lambda: chain.state.reader  # noqa: E731
    unpaid_key = storage_keys.unpaid(message.root)

    def unpaid() -> int | None:
        data = reader().get(unpaid_key)
        return None if data is None else int(decode_uints(data, unpaid_key, 1)[0])

    # The owner keeps 20 FLX: one epoch's fee, not two.
    keep = 20 * COIN
    away = flx(chain, owner.wallet) - FEE - keep
    assert owner.send(Transfer(Wallet.of(1).address, away, Denom.FLX)) == OK
    assert (flx(chain, owner.wallet), unpaid()) == (keep - per_epoch, None)  # paid
    chain.run([])
    chain.run([])
    assert unpaid() == 2  # the grace: still placed, its holders unpaid
    assert storage_queries.placement(reader(), message.root) is not None
    # Funds arrive: the next epoch is paid and the count starts again.
    funding = Wallet.of(1).tx(0, Transfer(owner.wallet.address, per_epoch, Denom.FLX))
    holders_before = [flx(chain, holder) for holder in record.holders]
    assert chain.run([funding]).receipts[0].code == OK
    assert unpaid() is None
    paid = [
        flx(chain, holder) - before - (FEE if holder == chain.proposer else 0)  # its fee
        for holder, before in zip(record.holders, holders_before, strict=True)
    ]
    assert paid == [2 * COIN] * 6
    for expected in (1, 2):
        chain.run([])
        assert unpaid() == expected
    chain.run([])  # the third epoch unpaid in a row: past the grace, the blob expires
    assert storage_queries.placement(reader(), message.root) is None
    assert unpaid() is None
    assert storage_queries.account_bytes(reader(), owner.wallet.address) == 0
    for holder in record.holders:
        assert storage_queries.node_usage(reader(), holder).bytes_held == 0


def test_a_blob_holding_an_apps_module_does_not_expire_unpaid() -> None:
    chain = storage_chain(epoch_fee_per_kib=COIN, grace_epochs=0)
    owner = Sender(chain, Wallet.of(0))
    message = place_message(COUNTER, 2, 4)
    deploy = DeployStoredApp(
        message.root, message.size, blake3_hash(COUNTER), ("increment",), 1, 1, 1_000
    )
    assert [owner.send(message), owner.send(deploy)] == [OK, OK]
    away = flx(chain, owner.wallet) - FEE - COIN  # keeps 1 FLX: less than an epoch's 4
    assert owner.send(Transfer(Wallet.of(1).address, away, Denom.FLX)) == OK
    for _ in range(3):
        chain.run([])
    assert storage_queries.placement(chain.state.reader, message.root) is not None
    data = chain.state.reader.get(storage_keys.unpaid(message.root))
    assert data is not None and decode_uints(data, b"", 1)[0] >= 3
