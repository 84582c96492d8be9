"""Which nodes execute an app's calls in an epoch: the one function the executors, the notary
and the gateway ask (so the registry's executor role can take it over without them changing).

Rule: the candidates are the registry's ACTIVE nodes with the executor role, weighted by their
locked stake in whole GEN (a node with less than one GEN has no weight), in address order. Until
there are at least as many weighted candidates as the app's replicas, the candidates are the
current validator set weighted by its power instead (the genesis validators, until sets change;
the issue's rule until enough executors register). `replicas` of them are drawn without
replacement, position by position: `draw = tagged_hash(VRF_SEED, "executors" ‖ seed ‖ app_id ‖
epoch ‖ position) mod W`, W the weight not yet drawn, landing on the candidate whose cumulative
weight interval holds it, as the proposer draw does (consensus/validators.py). The label and the
length of the material keep these draws apart from the proposer's, which hashes 40 or 48 bytes.

The seed is the chain's VRF seed (each proposer's VRF output, `node.chain.Chain.seed`), which
state does not hold: the caller passes the seed at the epoch's first height and the state as of
that height, so every node draws the same executors for the whole epoch, and a new epoch draws
again (an executor that went silent drops out when its stake or role does, or by chance).
"""

from __future__ import annotations

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import InvariantViolation
from metanode.state import constants
from metanode.state.apps.records import read_app
from metanode.state.registry.queries import node_stake, nodes
from metanode.state.registry.records import Status
from metanode.state.staking.queries import validator_set
from metanode.state.view import StateReader
from metanode.types import Address, Role

_LABEL = b"executors"


def candidates(reader: StateReader, replicas: int) -> list[tuple[Address, int]]:
    """(address, weight) in address order, every weight ≥ 1."""
    registered = [
        (address, node_stake(reader, address, record) // constants.base_units_per_coin)
        for address, record in nodes(reader)
        if Role.EXECUTOR in record.roles and record.status is Status.ACTIVE
    ]
    weighted = [(address, weight) for address, weight in registered if weight > 0]
    if len(weighted) >= replicas:
        return weighted
    return [(member.address, member.power) for member in validator_set(reader) if member.power > 0]


def executors(reader: StateReader, app_id: bytes, epoch: int, seed: bytes) -> list[Address]:
    """The app's executors for `epoch`, in draw order (the first is the primary); fewer than
    its replicas only if fewer candidates exist. Raises InvariantViolation for an unknown app."""
    app = read_app(reader, app_id)
    if app is None:
        raise InvariantViolation(f"executors() of unknown app {app_id.hex()}")
    left = candidates(reader, app.replicas)
    weight_left = sum(weight for _address, weight in left)
    drawn: list[Address] = []
    for position in range(min(app.replicas, len(left))):
        material = _LABEL + seed + app_id + epoch.to_bytes(8, "big") + position.to_bytes(8, "big")
        draw = int.from_bytes(tagged_hash(tags.VRF_SEED, material), "big") % weight_left
        slot = _landing(left, draw)
        address, weight = left.pop(slot)
        drawn.append(address)
        weight_left -= weight
    return drawn


def _landing(left: list[tuple[Address, int]], draw: int) -> int:
    for slot, (_address, weight) in enumerate(left):
        if draw < weight:
            return slot
        draw -= weight
    raise InvariantViolation("a draw below the weight left always lands on a candidate")
