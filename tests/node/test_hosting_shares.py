"""A notary's quorum of LogBlock shares (node/hosting.py `quorum_aggregate`): one pairing check
for the aggregate, each share checked alone only when the aggregate fails, a bad share dropped
and the LogBlock aggregated once a quorum of valid shares is held."""

from __future__ import annotations

from collections.abc import Sequence

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import bls
from metanode.errors import VerificationError
from metanode.node.hosting import quorum_aggregate
from metanode.state.notary.committee import Member
from metanode.types import Address

MESSAGE = b"a LogBlock's signing message"
KEYS = [bls.PrivateKey.keygen(bytes([index + 1]) * 32) for index in range(4)]
COMMITTEE = [
    Member(Address.from_public_key(bytes([index + 1]) * 32), key.public_key, 1)
    for index, key in enumerate(KEYS)
]


class CountingSuite(RealSuite):
    """The real (observer's) suite, counting its pairing checks."""

    def __init__(self) -> None:
        super().__init__(None)
        self.checks = 0

    def verify_seal(self, bls_public_key: bytes, message: bytes, seal: bytes) -> bool:
        self.checks += 1
        return super().verify_seal(bls_public_key, message, seal)

    def verify_aggregate(
        self, bls_public_keys: Sequence[bytes], message: bytes, aggregate: bytes
    ) -> bool:
        self.checks += 1
        return super().verify_aggregate(bls_public_keys, message, aggregate)


def shares_of(indices: Sequence[int], message: bytes = MESSAGE) -> dict[Address, bytes]:
    return {COMMITTEE[index].address: KEYS[index].sign(message) for index in indices}


def verifies(indices: Sequence[int], aggregate: bytes) -> bool:
    try:
        bls.fast_aggregate_verify([KEYS[i].public_key for i in indices], MESSAGE, aggregate)
    except VerificationError:
        return False
    return True


def test_a_quorum_of_valid_shares_costs_one_pairing_check() -> None:
    suite = CountingSuite()
    shares = shares_of([0, 2, 3])
    found = quorum_aggregate(suite, COMMITTEE, shares, set(), MESSAGE)
    assert found is not None
    indices, aggregate = found
    assert indices == [0, 2, 3]
    assert verifies(indices, aggregate)
    assert suite.checks == 1


def test_shares_short_of_a_quorum_are_not_checked() -> None:
    suite = CountingSuite()
    assert quorum_aggregate(suite, COMMITTEE, shares_of([1, 3]), set(), MESSAGE) is None
    assert suite.checks == 0


def test_a_bad_share_is_dropped_and_the_next_valid_one_completes_the_quorum() -> None:
    suite = CountingSuite()
    shares = shares_of([0, 1])
    shares |= shares_of([2], b"another message")
    verified: set[Address] = set()
    assert quorum_aggregate(suite, COMMITTEE, shares, verified, MESSAGE) is None
    assert set(shares) == {COMMITTEE[0].address, COMMITTEE[1].address}
    assert verified == set(shares)
    checks = suite.checks
    shares |= shares_of([3])
    found = quorum_aggregate(suite, COMMITTEE, shares, verified, MESSAGE)
    assert found is not None
    assert found[0] == [0, 1, 3]
    assert verifies(*found)
    assert suite.checks == checks + 1  # the aggregate only: the others were verified before


def test_a_share_that_is_no_curve_point_is_dropped() -> None:
    suite = CountingSuite()
    shares = shares_of([0, 1, 2, 3])
    shares[COMMITTEE[1].address] = b"\xff" * bls.SIGNATURE_BYTES
    found = quorum_aggregate(suite, COMMITTEE, shares, set(), MESSAGE)
    assert found is not None
    assert found[0] == [0, 2, 3]
    assert verifies(*found)
    assert COMMITTEE[1].address not in shares
