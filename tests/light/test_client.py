"""The light client against real BLS-signed headers: every forgery of issue 19 is rejected with
its reason and leaves the trusted block where it was; skipping needs one certificate without
set changes; bisection crosses a whole change of the set; a fork between primary and witness
produces light-client attack evidence."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.errors import ConfigError
from metanode.light.client import ForkDetected, LightClient
from metanode.light.fetcher import light_block_json, parse_light_block
from metanode.light.reasons import Rejected, Rejection
from metanode.light.verifier import LightBlock, TrustOptions, Verifier
from metanode.testing.signed_chain import SignedChain, member
from metanode.types import CommitCertificate
from metanode.types.light_attack import LightAttackEvidence
from tests.conftest import examples

from .sources import ChainSource, honest

CHAIN = "light-test"
CHANGE = 20  # the whole set is replaced from this height on
TIP = 30


@pytest.fixture(scope="module")
def chain() -> SignedChain:
    first = [member(f"first-{i}") for i in range(4)]
    second = [member(f"second-{i}") for i in range(4)]
    signed = SignedChain(CHAIN, [(1, first), (CHANGE, second)])
    signed.grow(TIP)
    return signed


def now(chain: SignedChain) -> int:
    return chain.header(TIP).timestamp_ms + 1_000


def client_at(
    chain: SignedChain, height: int, **options: object
) -> tuple[LightClient, ChainSource]:
    source = ChainSource(chain, "primary")
    verifier = Verifier(CHAIN, TrustOptions(**options))  # type: ignore[arg-type]
    return LightClient(verifier, honest(chain, height), source), source


def rejected(call: Callable[[], object]) -> Rejection:
    with pytest.raises(Rejected) as caught:
        call()
    return caught.value.reason


def reheader(block: LightBlock, chain: SignedChain, **fields: object) -> LightBlock:
    """A header with other fields, signed by the whole set of its height (a set may sign
    anything; the point is what the client makes of it)."""
    header = dataclasses.replace(block.header, **fields)  # type: ignore[arg-type]
    return LightBlock(header, chain.certificate(header), block.validators)


def forged_state_root(block: LightBlock, chain: SignedChain) -> LightBlock:
    return dataclasses.replace(
        block, header=dataclasses.replace(block.header, state_root=b"\x01" * 32)
    )


def too_little_power(block: LightBlock, chain: SignedChain) -> LightBlock:
    two = [v.address for v in block.validators.validators[:2]]
    return dataclasses.replace(block, certificate=chain.certificate(block.header, two))


def bitmap_outside(block: LightBlock, chain: SignedChain) -> LightBlock:
    bitmap = CommitCertificate.bitmap_for([0, 1, 2, 5], 4)
    return dataclasses.replace(
        block, certificate=dataclasses.replace(block.certificate, signer_bitmap=bitmap)
    )


def bitmap_too_long(block: LightBlock, chain: SignedChain) -> LightBlock:
    bitmap = block.certificate.signer_bitmap + b"\x00"
    return dataclasses.replace(
        block, certificate=dataclasses.replace(block.certificate, signer_bitmap=bitmap)
    )


def forged_set(block: LightBlock, chain: SignedChain) -> LightBlock:
    """Outsiders' set served beside an honest header."""
    return dataclasses.replace(block, validators=chain.validators(CHANGE))


def stale_set(block: LightBlock, chain: SignedChain) -> LightBlock:
    return dataclasses.replace(block, validators=chain.validators(1))


def bad_signature(block: LightBlock, chain: SignedChain) -> LightBlock:
    other = chain.certificate(chain.header(block.height - 1))
    return dataclasses.replace(
        block,
        certificate=dataclasses.replace(
            block.certificate, aggregate_signature=other.aggregate_signature
        ),
    )


def wrong_certificate_height(block: LightBlock, chain: SignedChain) -> LightBlock:
    return dataclasses.replace(
        block, certificate=dataclasses.replace(block.certificate, height=block.height + 1)
    )


def wrong_chain(block: LightBlock, chain: SignedChain) -> LightBlock:
    return reheader(block, chain, chain_id="other-chain")


def time_went_back(block: LightBlock, chain: SignedChain) -> LightBlock:
    return reheader(block, chain, timestamp_ms=chain.start_ms)


def from_future(block: LightBlock, chain: SignedChain) -> LightBlock:
    return reheader(block, chain, timestamp_ms=now(chain) + 60_000)


def unlinked(block: LightBlock, chain: SignedChain) -> LightBlock:
    return reheader(block, chain, previous_hash=b"\x02" * 32)


def lunatic(block: LightBlock, chain: SignedChain) -> LightBlock:
    """A header naming the outsiders' set, signed by them: only the trust check stops it."""
    outsiders = chain.validators(CHANGE)
    header = dataclasses.replace(block.header, validator_set_hash=outsiders.hash())
    signers = [v.address for v in outsiders.validators]
    return LightBlock(header, chain.certificate(header, signers, outsiders), outsiders)


FORGERIES = {
    "forged_header": (forged_state_root, Rejection.FORGED_HEADER),
    "too_little_power": (too_little_power, Rejection.INSUFFICIENT_POWER),
    "bitmap_outside_set": (bitmap_outside, Rejection.SIGNER_OUTSIDE_SET),
    "bitmap_too_long": (bitmap_too_long, Rejection.SIGNER_OUTSIDE_SET),
    "forged_set": (forged_set, Rejection.VALIDATOR_SET_MISMATCH),
    "bad_signature": (bad_signature, Rejection.BAD_SIGNATURE),
    "certificate_for_another_height": (wrong_certificate_height, Rejection.WRONG_HEIGHT),
    "wrong_chain": (wrong_chain, Rejection.WRONG_CHAIN),
    "time_went_back": (time_went_back, Rejection.TIME_WENT_BACK),
    "from_future": (from_future, Rejection.HEADER_FROM_FUTURE),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
@pytest.mark.parametrize("trusted_height", [9, 2], ids=["adjacent", "skipping"])
def test_each_forgery_is_rejected_and_trust_stays(
    chain: SignedChain, name: str, trusted_height: int
) -> None:
    forge, reason = FORGERIES[name]
    client, source = client_at(chain, trusted_height)
    source.forgeries[10] = lambda block: forge(block, chain)
    before = client.trusted
    assert rejected(lambda: client.sync(now(chain), 10)) is reason
    assert client.trusted is before


def test_adjacent_header_must_link_to_the_trusted_one(chain: SignedChain) -> None:
    client, source = client_at(chain, 9)
    source.forgeries[10] = lambda block: unlinked(block, chain)
    assert rejected(lambda: client.sync(now(chain), 10)) is Rejection.NOT_LINKED
    assert client.trusted.height == 9


def test_stale_set_for_a_header_after_the_change(chain: SignedChain) -> None:
    client, source = client_at(chain, 19)
    source.forgeries[21] = lambda block: stale_set(block, chain)
    assert rejected(lambda: client.sync(now(chain), 21)) is Rejection.VALIDATOR_SET_MISMATCH


def test_adjacent_header_naming_a_set_other_than_the_announced_next(chain: SignedChain) -> None:
    client, source = client_at(chain, 9)
    source.forgeries[10] = lambda block: lunatic(block, chain)
    assert rejected(lambda: client.sync(now(chain), 10)) is Rejection.STALE_VALIDATOR_SET


def test_lunatic_header_fails_the_trust_check_down_to_adjacency(chain: SignedChain) -> None:
    """Skipping, outsiders hold none of the trusted power; bisection verifies the honest
    blocks below and the forgery fails as an adjacent block at the end."""
    client, source = client_at(chain, 2)
    source.forgeries[10] = lambda block: lunatic(block, chain)
    assert rejected(lambda: client.sync(now(chain), 10)) is Rejection.STALE_VALIDATOR_SET
    assert client.trusted.height == 2


def test_skipping_without_set_change_needs_one_certificate(chain: SignedChain) -> None:
    client, source = client_at(chain, 1)
    report = client.sync(now(chain), CHANGE - 1)
    assert (report.height, report.certificates_verified) == (CHANGE - 1, 1)
    assert source.asked == [CHANGE - 1]
    assert client.trusted.hash() == chain.header(CHANGE - 1).hash()


def test_bisection_crosses_a_whole_set_change(chain: SignedChain) -> None:
    client, source = client_at(chain, 1)
    report = client.sync(now(chain))
    assert report.height == TIP
    assert report.certificates_verified > 1
    assert source.asked[0] == TIP and len(source.asked) == report.certificates_verified
    assert client.trusted.hash() == chain.header(TIP).hash()


def test_a_higher_trust_level_refuses_a_partial_overlap() -> None:
    first = [member(f"first-{i}") for i in range(4)]
    # Three of four stay: 3/4 of the trusted power signs, more than 2/3 but not more than 3/4.
    mixed = SignedChain(CHAIN, [(1, first), (5, [*first[:3], member("newcomer")])])
    mixed.grow(8)
    for level, verified in ((Fraction(1, 3), 1), (Fraction(3, 4), 4)):
        source = ChainSource(mixed)
        client = LightClient(
            Verifier(CHAIN, TrustOptions(trust_level=level)), honest(mixed, 1), source
        )
        report = client.sync(mixed.header(8).timestamp_ms, 8)
        assert report.certificates_verified == verified


def test_withheld_pivot_is_rejected_and_trust_stays(chain: SignedChain) -> None:
    client, source = client_at(chain, 1)
    source.withheld.add((1 + TIP) // 2)
    assert rejected(lambda: client.sync(now(chain))) is Rejection.HEADER_WITHHELD
    assert client.trusted.height == 1


def test_a_pivot_of_another_height_is_rejected(chain: SignedChain) -> None:
    client, source = client_at(chain, 1)
    source.forgeries[(1 + TIP) // 2] = lambda block: honest(chain, TIP)
    assert rejected(lambda: client.sync(now(chain))) is Rejection.WRONG_HEIGHT
    assert client.trusted.height == 1


def test_trusting_period_in_time_and_in_blocks(chain: SignedChain) -> None:
    client, _ = client_at(chain, 1, period_ms=5_000)
    assert rejected(lambda: client.sync(now(chain), 5)) is Rejection.TRUSTED_STATE_EXPIRED
    client, _ = client_at(chain, 1, period_blocks=5)
    assert rejected(lambda: client.sync(now(chain), 10)) is Rejection.TRUSTED_STATE_EXPIRED
    assert client.sync(now(chain), 6).height == 6


def test_trust_level_outside_a_third_to_one_is_a_config_error() -> None:
    for level in (Fraction(1, 4), Fraction(4, 3)):
        with pytest.raises(ConfigError):
            TrustOptions(trust_level=level)


def test_initialise_checks_the_trust_root(chain: SignedChain) -> None:
    source = ChainSource(chain)
    verifier = Verifier(CHAIN)
    client = LightClient.initialise(verifier, 3, chain.header(3).hash(), source)
    assert client.trusted.height == 3
    assert (
        rejected(lambda: LightClient.initialise(verifier, 3, bytes(32), source))
        is Rejection.TRUST_ROOT_MISMATCH
    )


def test_fork_between_primary_and_witness_produces_evidence(chain: SignedChain) -> None:
    """The trusted set signs two different blocks at height 10: a real double sign."""
    client, primary = client_at(chain, 2)
    witness = ChainSource(chain, "witness")
    witness.forgeries[10] = lambda block: reheader(block, chain, state_root=b"\x03" * 32)
    client.witnesses = [witness]
    with pytest.raises(ForkDetected) as caught:
        client.sync(now(chain), 10)
    assert caught.value.reason is Rejection.FORK_DETECTED
    assert client.trusted.height == 2
    against_primary, against_witness = caught.value.evidence
    assert against_primary.conflicting_header == chain.header(10)
    assert against_primary.common_height == 2
    assert against_witness.conflicting_header.state_root == b"\x03" * 32
    assert witness.evidence == [against_primary] and primary.evidence == [against_witness]
    assert LightAttackEvidence.decode(against_primary.encode()) == against_primary


def test_a_witness_that_cannot_sign_its_lie_is_dropped(chain: SignedChain) -> None:
    client, _ = client_at(chain, 2)
    liar = ChainSource(chain, "liar")
    liar.forgeries[10] = lambda block: forged_state_root(block, chain)
    agreeing = ChainSource(chain, "agreeing")
    client.witnesses = [liar, agreeing]
    report = client.sync(now(chain), 10)
    assert (report.witnesses_agreeing, report.witnesses_dropped) == (("agreeing",), ("liar",))
    assert client.trusted.height == 10


def test_headers_below_the_trusted_one_are_linked_by_hash(chain: SignedChain) -> None:
    client, source = client_at(chain, 12)
    assert client.header_at(9, now(chain)) == chain.header(9)
    source.forgeries[10] = lambda block: forged_state_root(block, chain)
    assert rejected(lambda: client.header_at(9, now(chain))) is Rejection.NOT_LINKED


def test_sequential_verification_follows_the_set_change(chain: SignedChain) -> None:
    client, _ = client_at(chain, 15)
    client.sequential([honest(chain, h) for h in range(16, 25)], now(chain))
    assert client.trusted.height == 24


def test_ten_thousand_heights_need_a_handful_of_certificates() -> None:
    """No set change: one certificate. A complete change half-way: bisection, about 2·log2."""
    first = [member(f"first-{i}") for i in range(4)]
    second = [member(f"second-{i}") for i in range(4)]
    for sets, most in (([(1, first)], 1), ([(1, first), (5_000, second)], 30)):
        long = SignedChain(CHAIN, sets)
        long.grow(10_001)
        source = ChainSource(long)
        client = LightClient(Verifier(CHAIN), honest(long, 1), source)
        report = client.sync(long.header(10_001).timestamp_ms)
        assert report.height == 10_001
        assert report.certificates_verified <= most
        assert len(source.asked) == report.certificates_verified


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    field=st.sampled_from(["header", "certificate"]),
    offset=st.integers(0, 400),
    flip=st.integers(1, 255),
)
def test_any_corrupted_byte_is_a_typed_rejection(
    chain: SignedChain, field: str, offset: int, flip: int
) -> None:
    """A node's answer with one byte changed never crashes the client nor moves its trust."""
    client, _ = client_at(chain, 9)
    body = light_block_json(honest(chain, 10))
    data = bytearray(bytes.fromhex(body[field]))
    data[offset % len(data)] ^= flip
    body[field] = data.hex()
    before = client.trusted
    with pytest.raises(Rejected):
        client.verifier.verify(client.trusted, parse_light_block(body), now(chain))
    assert client.trusted is before


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    junk=st.recursive(
        st.none() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_any_malformed_answer_is_rejected_as_malformed(chain: SignedChain, junk: object) -> None:
    body = light_block_json(honest(chain, 10))
    for key in ("validators", "header"):
        broken = {**body, key: junk}
        with pytest.raises(Rejected) as caught:
            parse_light_block(broken)
        assert caught.value.reason is Rejection.MALFORMED
