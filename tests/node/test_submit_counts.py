"""What `Node.submit` counts of a client batch (the admitted, the refused by reason, and the
refusals the node logs), on a real single-validator node: counted per reason, one transaction
each all the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

from metanode.crypto import ed25519
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.node.node import Node
from metanode.types import Address, Denom, Transaction, Transfer

from .standalone import standalone

ACCOUNTS = 6


def transfer(key: ed25519.PrivateKey, to: Address, nonce: int) -> Transaction:
    unsigned = Transaction(
        dev_home.DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, Transfer(to, 1, Denom.FLX)
    )
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def sample(node: Node, name: str, labels: dict[str, str] | None = None) -> float:
    value = node.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_batch_is_counted_per_reason_as_it_was_per_transaction(tmp_path: Path) -> None:
    home = tmp_path / "net"
    entries = dev_home.init_dev(home, validators=1, accounts=ACCOUNTS)
    senders = [
        keys.read_account(path, dev_home.DEV_PASSWORD)
        for path in dev_home.account_key_files(home)
        if path.stem.startswith("dev")
    ]
    to = Address.from_public_key(senders[-1].public_key)
    good = [transfer(key, to, 0) for key in senders[:4]]
    forged = transfer(senders[4], to, 0).with_signature(bytes(64))
    raws = [tx.encode() for tx in good]
    with standalone(entries[0].config_path) as node:
        first = asyncio.run(node.submit(raws[:3]))
        # The three again (duplicates), one new, one forged, one not a transaction at all.
        batch = [*raws[:3], raws[3], forged.encode(), b"\x01\x02"]
        second = asyncio.run(node.submit(batch))
        reasons = [result.reason.value if result.reason else None for result in second]
        admitted = sample(node, "metanode_mempool_admitted_total")
        rejected = {
            reason: sample(node, "metanode_mempool_rejected_total", {"reason": reason})
            for reason in ("duplicate", "bad_signature", "malformed")
        }
        refused = dict(node._refused)
    assert all(result.admitted for result in first)
    assert reasons == [*["duplicate"] * 3, None, "bad_signature", "malformed"]
    assert admitted == 4
    assert rejected == {"duplicate": 3, "bad_signature": 1, "malformed": 1}
    assert refused == {"duplicate": 3, "bad_signature": 1, "malformed": 1}
