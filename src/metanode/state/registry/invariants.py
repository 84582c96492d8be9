"""registry invariants, named, checked after every block in tests.

- `pool_matches_records`: the `registry/bonded` pool holds exactly the stakes of the records;
  a validator node's record holds none (its stake is its bond in staking).
- `records_match_indexes`: each node's BLS key is indexed to it (in the registry's table, or in
  staking's for a validator node, whose staking record has the same keys); the node count is
  the number of records; a pending marker exists exactly for each pending node; a node is
  jailed exactly when staking has jailed its validator.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.bank.accounts import read_account
from metanode.state.registry import keys
from metanode.state.registry.queries import nodes
from metanode.state.registry.records import Status
from metanode.state.registry.rules import REGISTRY_POOL
from metanode.state.staking import keys as staking_keys
from metanode.state.staking.records import read_uint, read_validator
from metanode.state.staking.rules import is_jailed
from metanode.state.view import StateReader
from metanode.types import Denom


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
            (record.status is Status.JAILED) == jailed,
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


INVARIANTS = (pool_matches_records, records_match_indexes)
