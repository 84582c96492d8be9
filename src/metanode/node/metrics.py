"""Prometheus metrics of one node, named in CometBFT's style (`metanode_<subsystem>_<name>`).

Each node has its own registry (tests run several nodes in one process). Every figure is read
from what the node did: heights and rounds from the engine, intervals from block timestamps,
sizes from the mempool and the peer table.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.height = Gauge("metanode_consensus_height", "Height being decided.", registry=r)
        self.rounds = Gauge(
            "metanode_consensus_rounds", "Round reached at the current height.", registry=r
        )
        self.block_interval = Histogram(
            "metanode_consensus_block_interval_seconds",
            "Time between consecutive blocks, from their header timestamps.",
            buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
            registry=r,
        )
        self.txs_committed = Counter(
            "metanode_consensus_txs_committed", "Transactions committed in blocks.", registry=r
        )
        self.block_size = Gauge(
            "metanode_consensus_block_size_txs", "Transactions in the last block.", registry=r
        )
        self.mempool_size = Gauge(
            "metanode_mempool_size", "Transactions waiting in the mempool.", registry=r
        )
        self.mempool_rejected = Counter(
            "metanode_mempool_rejected",
            "Transactions refused at admission, by reason.",
            ["reason"],
            registry=r,
        )
        self.mempool_admitted = Counter(
            "metanode_mempool_admitted",
            "Transactions this node's clients submitted that the mempool admitted.",
            registry=r,
        )
        self.admission_bound = Gauge(
            "metanode_mempool_admission_bound",
            "Pending client transactions admission lets this node hold: [mempool] "
            "admission_blocks blocks of the recent commit rate (0: no such bound).",
            registry=r,
        )
        self.gossip_dropped = Counter(
            "metanode_mempool_gossip_dropped",
            "Gossiped transactions dropped unadmitted because the admission inbox was full.",
            registry=r,
        )
        self.peers = Gauge("metanode_p2p_peers", "Connected peers.", registry=r)
        self.links = Gauge(
            "metanode_p2p_links",
            "Connected peer links by how their keys were agreed: hybrid (X25519 + ML-KEM-768, "
            "net/hybrid.py) or classical (a peer that offers classical keys only).",
            ["kind"],
            registry=r,
        )
        for kind in ("hybrid", "classical"):  # both shown from the start, at zero
            self.links.labels(kind)
        self.links_authenticated = Gauge(
            "metanode_p2p_links_pq_authenticated",
            "Connected links whose peer signed the handshake with the ML-DSA-65 key its "
            "identity records on chain (message 38).",
            registry=r,
        )
        self.peer_penalties = Counter(
            "metanode_p2p_peer_penalties",
            "Offences charged to peers, by reason.",
            ["reason"],
            registry=r,
        )
        self.proposals_compact = Counter(
            "metanode_consensus_proposals_compact",
            "Proposals in compact form (transactions by hash), by outcome: sent (this node "
            "proposed), held (rebuilt from what this node held), fetched (rebuilt after asking "
            "peers), or why one was refused (txs_root_mismatch, txs_unavailable, …).",
            ["outcome"],
            registry=r,
        )
        self.proposal_txs_fetched = Counter(
            "metanode_consensus_proposal_txs_fetched",
            "Transactions of compact proposals that this node lacked and got from peers.",
            registry=r,
        )
        self.proposal_bytes = Counter(
            "metanode_consensus_proposal_bytes",
            "Bytes of this node's proposals as sent (form=compact) and as the full block would "
            "have made them (form=full).",
            ["form"],
            registry=r,
        )
        self.blocks_synced = Counter(
            "metanode_blocksync_blocks", "Blocks fetched from peers to catch up.", registry=r
        )
        self.app_handovers = Counter(
            "metanode_executor_handovers",
            "App states asked of other replicas by this executor, by outcome (installed: a "
            "replica's state was checked and taken; unanswered: none came, so the calls ran "
            "from the blocks).",
            ["outcome"],
            registry=r,
        )
        self.policy_routed = Counter(
            "metanode_policy_routed",
            "App calls the gateway routed by their policy's light (green passed, yellow "
            "quarantined, red refused with a signed record).",
            ["light"],
            registry=r,
        )
        self.policy_quarantine_limited = Counter(
            "metanode_policy_quarantine_limited",
            "Yellow app calls refused because the app's quarantine rate was spent.",
            registry=r,
        )
        self.ready = Gauge(
            "metanode_node_ready",
            "1 while every readiness check passes (GET /ready), else 0.",
            registry=r,
        )
        self.ready_checks = Gauge(
            "metanode_node_ready_check",
            "1 while the named readiness check passes (running, synced, store, peers), else 0.",
            ["check"],
            registry=r,
        )
        self.blocks_behind = Gauge(
            "metanode_blocksync_lag_blocks",
            "Blocks between this node's committed height and the best height peers announce.",
            registry=r,
        )
        self.api_connections_dropped = Counter(
            "metanode_api_connections_dropped",
            "Gateway connections closed before a whole request arrived, by reason.",
            ["reason"],
            registry=r,
        )
        self.guard_refused = Counter(
            "metanode_guard_refused",
            "Requests (client) and frames (peer) the guard refused, by kind and verdict "
            "(throttle or ban; docs/security.md).",
            ["kind", "verdict"],
            registry=r,
        )
        self.guard_bans = Counter(
            "metanode_guard_bans",
            "Bans the guard imposed, by kind (client or peer).",
            ["kind"],
            registry=r,
        )
        self.guard_subjects = Gauge(
            "metanode_guard_subjects",
            "Peers and clients the guard tracks, by kind and current verdict.",
            ["kind", "verdict"],
            registry=r,
        )
        self.inclusion_listed = Counter(
            "metanode_inclusion_listed",
            "Transactions this validator named in its inclusion lists (docs/inclusion.md).",
            registry=r,
        )
        self.inclusion_omissions = Counter(
            "metanode_inclusion_omissions",
            "Proposals this validator refused to prepare for leaving out a listed transaction.",
            registry=r,
        )
        self.inclusion_unavailable = Counter(
            "metanode_inclusion_unavailable",
            "Listed transactions a proposal of this validator went without: it held them "
            "nowhere and no peer sent them in time (node/inclusion.py).",
            registry=r,
        )
        self.inclusion_evidence = Counter(
            "metanode_inclusion_evidence",
            "Omission evidence this validator queued against a censoring proposer "
            "(state/registry/omission.py).",
            registry=r,
        )
