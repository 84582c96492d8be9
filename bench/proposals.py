"""Bytes per proposal on the wire, compact and full, on four validators of real processes, and
a receiver's CPU for one proposal of 2,000 transfers in each form.

    python -m bench.proposals [--accounts A] [--per-account K]    (from the repository's root)

First, in this process: one proposal of 2,000 signed transfers, all of them held by the
receiver, received in full (decoded, each transaction looked up in the pool by its bytes, which
hashes them, as `Pool.known` does) and compact (decoded, its root checked, rebuilt from the pool
by hash): the best of three timings of 20 each. Then a dev home of four validators (TLS, LMDB,
every process real); A accounts each sign K transfers, which go to the four gateways at once, a
quarter each, and the run waits for the last to commit. Each validator counts the bytes of its
proposals as it sent them (compact: the header and the transactions' hashes) and as full blocks
would have been, and how the proposals it received were rebuilt: from what it held, or after
fetching what it lacked (docs/decisions/compact-proposals.md).

Last line: receive_full_ms=… receive_compact_ms=… proposals=… compact_bytes_per_proposal=…
full_bytes_per_proposal=… ratio=… rebuilt_held=… rebuilt_fetched=… txs_fetched=… committed=…
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

from tests.consensus.harness import Committee
from tests.node.cluster import Cluster, running
from tests.state.support import Wallet

from metanode.codec import tags
from metanode.consensus.messages import (
    CompactProposal,
    compact_of,
    decode_message,
    encode_message,
)
from metanode.crypto.hashing import tagged_hash
from metanode.node import compact
from metanode.state.machine import txs_root
from metanode.types import Denom, Transaction, Transfer

_METRICS = {
    "sent": r'^metanode_consensus_proposals_compact_total\{outcome="sent"\} (\S+)$',
    "held": r'^metanode_consensus_proposals_compact_total\{outcome="held"\} (\S+)$',
    "fetched": r'^metanode_consensus_proposals_compact_total\{outcome="fetched"\} (\S+)$',
    "txs_fetched": r"^metanode_consensus_proposal_txs_fetched_total (\S+)$",
    "compact": r'^metanode_consensus_proposal_bytes_total\{form="compact"\} (\S+)$',
    "full": r'^metanode_consensus_proposal_bytes_total\{form="full"\} (\S+)$',
    "committed": r"^metanode_consensus_txs_committed_total (\S+)$",
}


def scrape(cluster: Cluster, name: str) -> dict[str, float]:
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    return {
        key: sum(float(value) for value in re.findall(pattern, text, re.M))
        for key, pattern in _METRICS.items()
    }


def receive_ms() -> tuple[float, float]:
    """A receiver's milliseconds for one 2,000-transfer proposal: full form, compact form."""
    recipient = Wallet.of(9).address
    txs = [Wallet.of(i % 50).tx(i // 50, Transfer(recipient, 1, Denom.NEX)) for i in range(2_000)]
    committee = Committee()
    proposer = committee.proposer(0)
    block = committee.block(proposer)
    header = dataclasses.replace(block.header, txs_root=txs_root([tx.hash() for tx in txs]))
    block = dataclasses.replace(block, header=header, txs=tuple(txs))
    proposal = committee.proposal(proposer, block)
    full, short = encode_message(proposal), encode_message(compact_of(proposal))
    pool = {tx.hash(): tx for tx in txs}

    def known(raw: bytes) -> Transaction | None:
        return pool.get(tagged_hash(tags.TX, raw))

    def receive_compact() -> object:
        message = decode_message(short)
        assert isinstance(message, CompactProposal)
        rebuild = compact.start(message, pool.get, lambda _tx_hash: None)
        assert isinstance(rebuild, compact.Rebuild)
        return rebuild.proposal()

    assert receive_compact() == decode_message(full, known) == proposal

    def best_ms(receive: Callable[[], object]) -> float:
        return min(timeit.repeat(receive, number=20, repeat=3)) / 20 * 1000

    return best_ms(lambda: decode_message(full, known)), best_ms(receive_compact)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--per-account", type=int, default=30)
    options = parser.parse_args()
    full_ms, compact_ms = receive_ms()
    print(
        f"one proposal of 2,000 transfers received: full {full_ms:.2f} ms, "
        f"compact {compact_ms:.2f} ms"
    )
    with (
        tempfile.TemporaryDirectory() as directory,
        running(Path(directory) / "net", accounts=options.accounts) as cluster,
    ):
        cluster.wait_height(2, timeout_s=120)
        txs = cluster.transfers(per_account=options.per_account)
        share = -(-len(txs) // len(cluster.names))
        for index, name in enumerate(cluster.names):
            cluster.submit(name, txs[index * share : (index + 1) * share])
        last = txs[-1].hash().hex()
        cluster.wait(lambda: cluster.committed("v0", last), 600, "the last transfer to commit")
        totals = dict.fromkeys(_METRICS, 0.0)
        for name in cluster.names:
            found = scrape(cluster, name)
            print(name, " ".join(f"{key}={value:.0f}" for key, value in found.items()))
            for key, value in found.items():
                totals[key] += value
    sent = totals["sent"]
    print(
        f"receive_full_ms={full_ms:.2f} receive_compact_ms={compact_ms:.2f} "
        f"proposals={sent:.0f} compact_bytes_per_proposal={totals['compact'] / sent:.0f} "
        f"full_bytes_per_proposal={totals['full'] / sent:.0f} "
        f"ratio={totals['compact'] / totals['full']:.3f} rebuilt_held={totals['held']:.0f} "
        f"rebuilt_fetched={totals['fetched']:.0f} txs_fetched={totals['txs_fetched']:.0f} "
        f"committed={totals['committed'] / len(cluster.names):.0f}"
    )


if __name__ == "__main__":
    main()
