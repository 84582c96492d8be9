"""Bytes per proposal on the wire, compact and full, on four validators of real processes.

    python -m bench.proposals [--accounts A] [--per-account K]    (from the repository's root)

A dev home of four validators (TLS, LMDB, every process real); A accounts each sign K transfers,
which go to the four gateways at once, a quarter each, and the run waits for the last to commit.
Each validator counts the bytes of its proposals as it sent them (compact: the header and the
transactions' hashes) and as full blocks would have been, and how the proposals it received were
rebuilt: from what it held, or after fetching what it lacked (docs/decisions/compact-proposals.md).

Last line: proposals=… compact_bytes_per_proposal=… full_bytes_per_proposal=… ratio=…
rebuilt_held=… rebuilt_fetched=… txs_fetched=… committed=…
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from tests.node.cluster import Cluster, running

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--per-account", type=int, default=30)
    options = parser.parse_args()
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
        f"proposals={sent:.0f} compact_bytes_per_proposal={totals['compact'] / sent:.0f} "
        f"full_bytes_per_proposal={totals['full'] / sent:.0f} "
        f"ratio={totals['compact'] / totals['full']:.3f} rebuilt_held={totals['held']:.0f} "
        f"rebuilt_fetched={totals['fetched']:.0f} txs_fetched={totals['txs_fetched']:.0f} "
        f"committed={totals['committed'] / len(cluster.names):.0f}"
    )


if __name__ == "__main__":
    main()
