"""A censoring proposer on real validator processes: one of four leaves out every transaction
of one sender (`[testing] censor`); the others list the sender's waiting transaction, refuse to
prepare the censor's proposals that leave it out, count and log the omission, and the
transaction is committed by another proposer all the same (docs/inclusion.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from metanode.types import Address

from .cluster import Cluster

HONEST = ("v0", "v1", "v2")


def _omissions(cluster: Cluster, name: str) -> float:
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    found = re.search(r"^metanode_inclusion_omissions_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow
def test_a_censoring_proposer_is_caught_and_the_transaction_still_commits(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "net", validators=4)
    victim = cluster.dev_keys()[0]
    to = Address.from_public_key(cluster.dev_keys()[1].public_key)
    for name in cluster.names:
        # Every ready transaction is listed at the next commit: the censor is caught the first
        # time it proposes while one of the victim's transactions waits.
        cluster.configure(name, "inclusion_wait_blocks", 0)
    censor = cluster.home / "nodes" / "v3" / "config.toml"
    victim_address = Address.from_public_key(victim.public_key)
    censor.write_text(censor.read_text() + f'\n[testing]\ncensor = ["{victim_address}"]\n')
    cluster.start_all()
    try:
        cluster.wait_height(1, timeout_s=120)
        deadline = time.monotonic() + 240
        nonce = 0
        while not any(_omissions(cluster, name) for name in HONEST):
            assert time.monotonic() < deadline, "the censor was never caught"
            tx = cluster.transfer(victim, nonce, to, 1)
            (result,) = cluster.submit("v0", [tx])
            assert result["accepted"], result
            digest = tx.hash().hex()
            cluster.wait(lambda digest=digest: cluster.committed("v0", digest), 120, "commit")
            nonce += 1
        caught = [name for name in HONEST if _omissions(cluster, name)]
        assert any(
            "proposal refused: it leaves out listed transactions" in cluster.log(name)
            for name in caught
        )
        assert _omissions(cluster, "v3") == 0  # its own proposals it does not judge
    finally:
        cluster.stop_all()
