"""Light-client attack evidence in a block's evidence list: the registry slashes the validators
it proves to have signed a conflicting header (state/registry/light_attack.py), on a chain of
real blocks whose certificates are real BLS aggregates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.registry import queries
from metanode.state.registry.light_attack import conflict_hash
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.rules import is_jailed
from metanode.types import Address, Block, BlockHeader
from metanode.types.light_attack import LightAttackEvidence, LightAttackItem
from tests.state.support import Chain, certify, validator_wallet
from tests.state.test_registry import chain_of, run_until_height, with_evidence

V0, V1, V2 = (validator_wallet(index).address for index in range(3))


def attack(
    chain: Chain,
    height: int = 2,
    *,
    absent: frozenset[Address] = frozenset(),
    common: int = 1,
    committed: bool = True,
    **fields: object,
) -> LightAttackItem:
    """A header of `height` with `fields` forged (a state root by default), certified by the
    set of that height but `absent`, with the certificate the chain committed there."""
    real = chain.blocks[height - 1]
    forged: BlockHeader = replace(real.header, **(fields or {"state_root": b"\x0f" * 32}))
    certificate = certify(chain.state.reader, Block(forged, (), (), None), absent)
    evidence = LightAttackEvidence(
        common, chain.blocks[common - 1].hash(), forged, certificate, real.hash()
    )
    return LightAttackItem(evidence, certify(chain.state.reader, real) if committed else None)


def stakes(chain: Chain) -> dict[Address, int]:
    return {a: staking_queries.validator(chain.state.reader, a).stake for a in (V0, V1, V2)}


def jailed(chain: Chain) -> set[Address]:
    return {a for a in (V0, V1, V2) if is_jailed(chain.state.reader, a)}


def refused(chain: Chain, item: LightAttackItem) -> str:
    """The code a block carrying `item` is refused with; the proposer leaves the item out."""
    proposal = chain.propose([], evidence=(item.encode(),))
    assert proposal.block.evidence == ()
    with pytest.raises(InvalidBlock) as caught:
        apply_block(chain.state, with_evidence(proposal.block, item.encode()))
    assert caught.value.reason == "evidence_refused"
    return caught.value.detail


def test_equivocation_slashes_those_who_signed_both_blocks_once() -> None:
    chain = chain_of(validators=3, slash_fraction_bps=1_000)
    run_until_height(chain, 4)
    before = stakes(chain)
    item = attack(chain, absent=frozenset({V2}))  # V0 and V1 sign both blocks at height 2
    assert LightAttackItem.decode(item.encode()) == item
    chain.run([], evidence=(item.encode(),))  # block 5
    after = stakes(chain)
    assert after == {V0: before[V0] * 9 // 10, V1: before[V1] * 9 // 10, V2: before[V2]}
    assert jailed(chain) == {V0, V1}
    assert queries.evidence_used_at(chain.state.reader, conflict_hash(item)) == 5
    # The same conflict, shown with another committed certificate, is spent: it slashes once.
    assert refused(chain, item) == "registry.evidence_already_used"
    fewer = certify(chain.state.reader, chain.blocks[1], frozenset({V1}))
    again = LightAttackItem(item.evidence, fewer)
    assert again.encode() != item.encode()
    assert refused(chain, again) == "registry.evidence_already_used"


def test_lunatic_header_slashes_its_signers_from_the_common_set() -> None:
    chain = chain_of(validators=3, slash_fraction_bps=1_000)
    run_until_height(chain, 4)
    before = stakes(chain)
    # A next-set hash the trusted state cannot give: lunatic, with no committed certificate.
    item = attack(
        chain, 3, absent=frozenset({V0}), committed=False, next_validator_set_hash=b"\x07" * 32
    )
    chain.run([], evidence=(item.encode(),))
    assert jailed(chain) == {V1, V2}
    assert stakes(chain)[V0] == before[V0]


def test_evidence_that_proves_nothing_is_refused_with_its_reason() -> None:
    chain = chain_of(validators=3, evidence_age_blocks_max=3)
    run_until_height(chain, 5)
    real = chain.blocks[2].header
    good = attack(chain, 3)
    garbled = replace(good.evidence.conflicting_certificate, aggregate_signature=b"\x01" * 96)
    cases = [
        (
            replace(good, evidence=replace(good.evidence, conflicting_certificate=garbled)),
            "light_attack_certificate_invalid",
        ),
        (attack(chain, 3, **{"state_root": real.state_root}), "light_attack_not_a_conflict"),
        (attack(chain, 3, committed=False), "light_attack_not_a_conflict"),
        (attack(chain, 3, round=1), "light_attack_amnesia"),
        (attack(chain, 3, absent=frozenset({V0, V1})), "light_attack_certificate_invalid"),
        (attack(chain, 3, chain_id="other"), "light_attack_certificate_invalid"),
        (attack(chain, 3, validator_set_hash=b"\x01" * 32), "light_attack_set_unknown"),
        (attack(chain, 3, common=3), "light_attack_heights_invalid"),
        (attack(chain, 1, common=1), "light_attack_heights_invalid"),
        (attack(chain, 2, common=1), "evidence_too_old"),  # 2 + 3 < block 6
    ]
    for item, code in cases:
        assert refused(chain, item) == f"registry.{code}", code
    assert jailed(chain) == set()


def test_a_conflict_whose_signers_are_all_jailed_for_good_slashes_no_one() -> None:
    chain = chain_of(validators=3)
    run_until_height(chain, 4)
    chain.run([], evidence=(attack(chain, absent=frozenset({V2})).encode(),))
    later = attack(chain, 3, absent=frozenset({V2}))
    assert refused(chain, later) == "registry.light_attack_no_attacker"
