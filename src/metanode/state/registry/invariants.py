"""registry invariants, named, checked after every block in tests.

- `pool_matches_records`: the `registry/bonded` pool holds exactly the stakes of the records;
  a validator node's record holds none (its stake is its bond in staking).
- `records_match_indexes`: each node's BLS key is indexed to it (in the registry's table, or in
  staking's for a validator node, whose staking record has the same keys); the node count is
  the number of records; a pending marker exists exactly for each pending node; a node that
  has not asked to leave is jailed exactly when staking has jailed its validator.
- `leaving_matches_indexes`: a node that sent `ExitNode` (exit height set) holds no registry
  stake, is never marked jailed, has an exit entry at its exit height until it turns exited
  and a leaving marker until it turns unbonding; a validator node among them is retired in
  staking; a node with no exit height is neither unbonding nor exited; every marker and entry
  names such a node.
- `downtime_matches_staking`: each signing window (downtime.py) belongs to a staking validator
  that is not jailed, has the window's size, and counts its bitmap's set bits, no more than the
  certificates it was counted in; each downtime jail names a validator staking has jailed.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.bank.accounts import read_account
from metanode.state.registry import keys
from metanode.state.registry.downtime import windows
from metanode.state.registry.queries import nodes
from metanode.state.registry.records import Status, read_params
from metanode.state.registry.rules import REGISTRY_POOL
from metanode.state.staking import keys as staking_keys
from metanode.state.staking.records import read_uint, read_validator
from metanode.state.staking.rules import is_jailed, is_retired
from metanode.state.view import StateReader
from metanode.types import Address, Denom


def pool_matches_records(reader: StateReader) -> None:
    total = 0
    for address, record in nodes(reader):
        check(
            not record.is_validator or record.stake == 0,
            f"registry.pool_matches_records: validator node {address} holds registry stake",
        )
        total += record.stake
    pool = read_account(reader, REGISTRY_POOL).balance(Denom.GEN)
    check(pool == total, f"registry.pool_matches_records: pool {pool} != stakes {total}")


def records_match_indexes(reader: StateReader) -> None:
    count = 0
    for address, record in nodes(reader):
        count += 1
        if record.is_validator:
            staked = read_validator(reader, address)
            check(
                staked is not None
                and staked.bls_public_key == record.bls_public_key
                and staked.public_key == record.public_key,
                f"registry.records_match_indexes: {address} differs from its staking record",
            )
            index = reader.get(staking_keys.bls_key(record.bls_public_key))
            jailed = is_jailed(reader, address)
        else:
            index = reader.get(keys.bls_key(record.bls_public_key))
            jailed = False
        check(index == address.raw, f"registry.records_match_indexes: {address} BLS index")
        check(
            (record.status is Status.JAILED) == (jailed and not record.exit_height),
            f"registry.records_match_indexes: {address} is {record.status.name}, "
            f"staking jailed={jailed}",
        )
        check(
            (record.status is Status.PENDING) == (reader.get(keys.pending(address)) is not None),
            f"registry.records_match_indexes: {address} pending marker",
        )
    check(
        read_uint(reader, keys.NODE_COUNT) == count,
        "registry.records_match_indexes: node count does not match the records",
    )
    for key, _value in reader.scan(keys.PENDING):
        check(
            reader.get(keys.NODE + key[len(keys.PENDING) :]) is not None,
            "registry.records_match_indexes: a pending marker without a node",
        )


def leaving_matches_indexes(reader: StateReader) -> None:
    exits, leaving = set(), set()
    for address, record in nodes(reader):
        status = record.status
        if not record.exit_height:
            check(
                status not in (Status.UNBONDING, Status.EXITED),
                f"registry.leaving_matches_indexes: {address} is {status.name} without leaving",
            )
            continue
        check(
            record.stake == 0 and status is not Status.JAILED,
            f"registry.leaving_matches_indexes: leaving {address} holds stake or is jailed",
        )
        check(
            not record.is_validator or is_retired(reader, address),
            f"registry.leaving_matches_indexes: leaving validator {address} is not retired",
        )
        if status is not Status.EXITED:
            exits.add(keys.exit_entry(record.exit_height, address))
        if status in (Status.PENDING, Status.ACTIVE):
            leaving.add(keys.leaving(address))
    for table, expected in ((keys.EXIT, exits), (keys.LEAVING, leaving)):
        found = {key for key, _value in reader.scan(table)}
        check(
            found == expected,
            f"registry.leaving_matches_indexes: {table.hex()} entries {len(found)}, "
            f"expected {len(expected)}",
        )


def downtime_matches_staking(reader: StateReader) -> None:
    params = read_params(reader)
    size = (params.signed_blocks_window + 7) // 8
    for address, window in windows(reader):
        check(
            read_validator(reader, address) is not None and not is_jailed(reader, address),
            f"registry.downtime_matches_staking: window of {address}, no unjailed validator",
        )
        check(
            len(window.bitmap) == size
            and window.missed == sum(bin(byte).count("1") for byte in window.bitmap)
            and window.missed <= window.counted,
            f"registry.downtime_matches_staking: window of {address} is inconsistent",
        )
    for key, _value in reader.scan(keys.DOWNTIME_JAIL):
        address = Address(key[len(keys.DOWNTIME_JAIL) :])
        check(
            is_jailed(reader, address),
            f"registry.downtime_matches_staking: {address} downtime-jailed, not in staking",
        )


INVARIANTS = (
    pool_matches_records,
    records_match_indexes,
    leaving_matches_indexes,
    downtime_matches_staking,
)
