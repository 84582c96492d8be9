"""A censoring proposer on real validator processes: one of four leaves out every transaction
of one sender (`[testing] censor`); the others list the sender's waiting transaction, refuse to
prepare the censor's proposals that leave it out, count and log the omission, and the
transaction is committed by another proposer all the same; the honest validators turn the
omissions into evidence in their blocks, and the chain slashes the censor, which leaves the
validator set (docs/inclusion.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from metanode.types import Address

from .cluster import Cluster

HONEST = ("v0", "v1", "v2")


def _omissions(cluster: Cluster, name: str) -> float:
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    found = re.search(r"^metanode_inclusion_omissions_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _censor_params(document: dict[str, Any]) -> None:
    """Every ready transaction is listed at the next commit, so the censor is caught when it
    proposes while one of the victim's transactions has been listed since an earlier height (a
    list of the height being decided binds only later rounds: docs/inclusion.md "Fair to a
    proposer"); omissions count for as long as governance allows, so that three happen within
    the window (229 s on a loaded machine), and short epochs take a jailed censor out of the set
    soon."""
    parameters = document.setdefault("parameters", {})
    parameters.setdefault("registry", {}).update(
        {"inclusion_wait_blocks": 0, "inclusion_obligation_blocks": 256}
    )
    parameters.setdefault("staking", {})["epoch_blocks"] = 4


def _in_set(cluster: Cluster, node_id: str) -> bool:
    view = cluster.get("v0", "/api/v1/validators")
    return any(member["address"] == node_id for member in view["validators"])


@pytest.mark.slow
def test_a_censoring_proposer_is_caught_slashed_and_the_transactions_still_commit(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path / "net", validators=4)
    cluster.edit_genesis(_censor_params)
    victim = cluster.dev_keys()[0]
    to = Address.from_public_key(cluster.dev_keys()[1].public_key)
    censor = cluster.home / "nodes" / "v3" / "config.toml"
    victim_address = Address.from_public_key(victim.public_key)
    censor.write_text(censor.read_text() + f'\n[testing]\ncensor = ["{victim_address}"]\n')
    cluster.start_all()
    try:
        cluster.wait_height(1, timeout_s=120)
        status = cluster.status("v3")
        assert status is not None
        censor_address = status["node_id"]
        assert _in_set(cluster, censor_address)
        deadline = time.monotonic() + 600
        nonce = 0
        while _in_set(cluster, censor_address):
            assert time.monotonic() < deadline, "the censor was never slashed"
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
        assert any("omission evidence queued" in cluster.log(name) for name in HONEST)
        assert _omissions(cluster, "v3") == 0  # its own proposals it does not judge
    finally:
        cluster.stop_all()
