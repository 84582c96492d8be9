"""registry genesis: parameters, node records and used evidence, in and out (round-trip tested
in tests/state/test_registry.py).

A validator node's stake is its bond in staking's genesis (`validators[].stake`), so its record
holds none; the document loader checks that such a node is among staking's validators with the
same keys. Other nodes' stake is newly created GEN credited to `registry/bonded`, which bank's
`finish_genesis` counts into the supply. Import runs after staking's. A leaving node's record
holds its exit height; import rebuilds the leaving and exit indexes from it (its stake is
among staking's unbondings, a validator node among staking's `retired`). Missed-commit
windows and downtime jails (downtime.py) go out and in as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.errors import InvariantViolation
from metanode.state.bank.rules import credit
from metanode.state.keys.queries import node_of_key
from metanode.state.registry import keys
from metanode.state.registry.downtime import SigningWindow, windows, write_window
from metanode.state.registry.queries import nodes
from metanode.state.registry.records import (
    NodeRecord,
    RegistryParams,
    Status,
    read_params,
    write_node,
    write_params,
)
from metanode.state.registry.rules import REGISTRY_POOL
from metanode.state.staking.records import read_uint, read_validator, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom


@dataclass(frozen=True, slots=True)
class RegistryGenesis:
    params: RegistryParams = field(default_factory=RegistryParams)
    # Sorted by address: the hash of public_key, or the identity keys' `rotated` names for it.
    nodes: tuple[NodeRecord, ...] = ()
    used_evidence: tuple[tuple[bytes, int], ...] = ()  # (evidence hash, height), sorted
    signing: tuple[tuple[Address, SigningWindow], ...] = ()  # sorted by address
    downtime_jailed: tuple[tuple[Address, int], ...] = ()  # (validator, unjail height), sorted


def import_genesis(writer: Overlay, genesis: RegistryGenesis) -> None:
    write_params(writer, genesis.params)
    for record in genesis.nodes:
        # keys' records are in already: a rotated node key names its identity there.
        address = node_of_key(writer, record.public_key) or Address.from_public_key(
            record.public_key
        )
        if record.is_validator:
            staked = read_validator(writer, address)
            if staked is None or staked.bls_public_key != record.bls_public_key:
                raise InvariantViolation(f"genesis validator node {address} is not in staking")
        else:
            credit(writer, REGISTRY_POOL, Denom.GEN, record.stake)
            writer.put(keys.bls_key(record.bls_public_key), address.raw)
        write_node(writer, address, record)
        if record.status is Status.PENDING:
            writer.put(keys.pending(address), b"")
        if record.exit_height and record.status is not Status.EXITED:
            writer.put(keys.exit_entry(record.exit_height, address), b"")
            if record.status is not Status.UNBONDING:
                writer.put(keys.leaving(address), b"")
    write_uint(writer, keys.NODE_COUNT, len(genesis.nodes))
    for evidence_hash, height in genesis.used_evidence:
        write_uint(writer, keys.evidence(evidence_hash), height)
    for address, window in genesis.signing:
        write_window(writer, address, window)
    for address, height in genesis.downtime_jailed:
        write_uint(writer, keys.downtime_jail(address), height)


def export_genesis(reader: StateReader) -> RegistryGenesis:
    used = tuple(
        (key[len(keys.EVIDENCE) :], read_uint(reader, key))
        for key, _value in reader.scan(keys.EVIDENCE)
    )
    width = len(keys.DOWNTIME_JAIL)
    return RegistryGenesis(
        read_params(reader),
        tuple(record for _address, record in nodes(reader)),
        used,
        windows(reader),
        tuple(
            (Address(key[width:]), read_uint(reader, key))
            for key, _value in reader.scan(keys.DOWNTIME_JAIL)
        ),
    )
