"""registry: node registration by type (guard ladder pinned), pending nodes that turn active and
validators that join the set at the next epoch boundary, slashing and jailing from equivocation
evidence verified on chain, and genesis export/import round trips. Every block runs every
invariant (support.Chain)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from metanode.codec import encode
from metanode.consensus.evidence import Evidence
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis, genesis_writes
from metanode.state.identity.records import did_of_key
from metanode.state.invariants import check_all
from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.notary.committee import notary_committee
from metanode.state.registry import queries
from metanode.state.registry.records import Status
from metanode.state.registry.rules import REGISTRY_POOL, TREASURY, evidence_hash
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.records import encode_set, set_hash
from metanode.types import (
    Block,
    CreateDid,
    Denom,
    NodeType,
    RegisterNode,
    RegisterValidator,
    Role,
    SubmitEvidence,
)
from metanode.types.vote import Kind, Signed
from tests.state.support import (
    COIN,
    FEE,
    Chain,
    Wallet,
    bls_material,
    genesis_tree,
    seed,
    validator_wallet,
)

EPOCH = 4  # the end of blocks 3, 7, 11… fixes the set that signs from 5, 9, 13…


def parameters(**registry: Any) -> dict[str, Any]:
    return {
        "staking": {"unbonding_delay_blocks": 3, "epoch_blocks": EPOCH},
        "registry": {
            "role_min_stake": {"validator": str(10 * COIN)},
            "node_types": {"enterprise": {"identity_level": "none"}},
            **registry,
        },
    }


def chain_of(validators: int = 2, **registry: Any) -> Chain:
    return Chain(from_tree(genesis_tree(validators=validators, parameters=parameters(**registry))))


def registration(
    node_type: NodeType = NodeType.COMMUNITY,
    roles: tuple[Role, ...] = (Role.EXECUTOR,),
    *,
    key: int = 40,
    pop_of: int | None = None,
    stake: int = 0,
    p2p_address: str = "node.example:7000",
    did: str = "did:metanode:node40",
) -> RegisterNode:
    bls_key, _ = bls_material(key)
    _, pop = bls_material(key if pop_of is None else pop_of)
    return RegisterNode(node_type, roles, bls_key, pop, seed("vrf", key), p2p_address, did, stake)


def run_until_height(chain: Chain, height: int) -> None:
    while chain.state.height < height:
        chain.run([])


def test_community_node_is_pending_then_active_at_the_epoch_boundary() -> None:
    chain = chain_of()
    node = Wallet.of(1)
    changes = chain.run([node.tx(0, registration(stake=5 * COIN))])  # block 1
    assert changes.receipts[0].code == OK
    record = queries.node(chain.state.reader, node.address)
    assert record is not None and record.status is Status.PENDING and record.stake == 5 * COIN
    assert bank_queries.balance(chain.state.reader, REGISTRY_POOL, Denom.GEN) == 5 * COIN
    run_until_height(chain, EPOCH - 2)
    assert queries.node(chain.state.reader, node.address).status is Status.PENDING
    chain.run([])  # block 3 ends the epoch's set window
    assert queries.node(chain.state.reader, node.address).status is Status.ACTIVE
    params = queries.params(chain.state.reader)
    assert queries.voting_power(params, 5 * COIN, record) == 1  # community: one per node


def test_default_parameters_are_the_issue_s_and_identity_levels_are_checked() -> None:
    chain = Chain()  # default registry parameters
    params = queries.params(chain.state.reader)
    assert params.required_stake(NodeType.ENTERPRISE, (Role.VALIDATOR,)) == 1_000_000 * COIN
    assert params.required_stake(NodeType.ENTERPRISE, (Role.NOTARY,)) == 2_000_000 * COIN
    assert params.required_stake(NodeType.HYBRID, (Role.EXECUTOR,)) == 500_000 * COIN
    assert params.required_stake(NodeType.BANK, (Role.AUTHORITY,)) == 10_000_000 * COIN
    assert params.required_stake(NodeType.GOVERNMENT, (Role.AUTHORITY,)) == 15_000_000 * COIN
    assert params.required_stake(NodeType.COMMUNITY, (Role.EXECUTOR,)) == 0
    # Every type but community needs a credential: a DID of the sender's own, and without a
    # credential its level is none.
    sender = Wallet.of(1)
    message = registration(NodeType.BANK, (Role.AUTHORITY,), stake=10_000_000 * COIN)
    code = chain.run([sender.tx(0, message)]).receipts[0].code
    assert name_of(code) == "registry.did_not_controlled"
    assert chain.run([sender.tx(1, CreateDid((), ()))]).receipts[0].code == OK
    own = replace(message, did=did_of_key(sender.public_key))
    code = chain.run([sender.tx(2, own)]).receipts[0].code
    assert name_of(code) == "registry.identity_level_too_low"


def test_register_ladder_order_is_pinned() -> None:
    """Each message fails exactly one more rung than the next: fixing the first failure
    reveals the second, and so on. Every node rejects for the same reason."""
    chain = chain_of(
        validators=1,
        node_types={
            "enterprise": {"identity_level": "none"},
            "hybrid": {"identity_level": "none", "trust_score_min": 5},
        },
    )
    sender = Wallet.of(1)
    taken_bls, _ = bls_material(0)  # validator 0's BLS key (support.validator_entry)
    steps = [
        (registration(p2p_address="nohost"), "registry.p2p_address_invalid"),
        (registration(did="not-a-did"), "registry.did_invalid"),
        (registration(NodeType.COMMUNITY, (Role.VALIDATOR,)), "registry.role_not_allowed"),
        (registration(NodeType.BANK, (Role.AUTHORITY,)), "registry.did_not_controlled"),
        (CreateDid((), ()), "ok"),
        (
            registration(NodeType.BANK, (Role.AUTHORITY,), did=did_of_key(sender.public_key)),
            "registry.identity_level_too_low",
        ),
        (registration(NodeType.HYBRID, (Role.EXECUTOR,)), "registry.trust_score_too_low"),
        (
            registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), stake=COIN),
            "registry.stake_below_minimum",
        ),
        (
            registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), stake=10**6 * COIN),
            "registry.insufficient_funds",
        ),
        (
            RegisterNode(
                NodeType.COMMUNITY,
                (Role.EXECUTOR,),
                taken_bls,
                bls_material(40)[1],
                seed("vrf", 40),
                "h:1",
                "did:metanode:x",
                0,
            ),
            "registry.bls_key_in_use",
        ),
        (registration(pop_of=41), "registry.invalid_proof_of_possession"),
        (registration(), "ok"),
        (registration(key=42), "registry.already_registered"),
    ]
    for nonce, (message, expected) in enumerate(steps):
        receipt = chain.run([sender.tx(nonce, message)]).receipts[0]
        assert name_of(receipt.code) == expected, (nonce, expected)


def test_rejected_registration_changes_nothing_but_the_fee() -> None:
    chain = chain_of()
    sender = Wallet.of(1)
    before = dict(chain.ledger.items)
    flx = bank_queries.balance(chain.state.reader, sender.address, Denom.FLX)
    chain.run([sender.tx(0, registration(pop_of=41, stake=5 * COIN))])
    after = chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert bank_queries.balance(chain.state.reader, sender.address, Denom.FLX) == flx - FEE
    assert queries.node(chain.state.reader, sender.address) is None
    # Only the sender's account (fee, nonce), the proposer's fee, the tip and the tree moved.
    assert all(not key.startswith((b"\x03", b"\x05")) for key in changed)


def test_validator_node_joins_the_set_at_the_next_epoch() -> None:
    chain = chain_of()
    node = Wallet.of(2)
    message = registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), key=43, stake=20 * COIN)
    assert chain.run([node.tx(0, message)]).receipts[0].code == OK  # block 1
    record = staking_queries.validator(chain.state.reader, node.address)
    assert record is not None and record.stake == 20 * COIN  # its stake is its staking bond
    assert queries.node(chain.state.reader, node.address).stake == 0
    chain.run([])  # block 2: not an epoch end, the next set is unchanged
    assert node.address not in {
        m.address for m in staking_queries.next_validator_set(chain.state.reader)
    }
    chain.run([])  # block 3 ends the window: the set signing from 5 has the node
    later = {m.address: m.power for m in staking_queries.next_validator_set(chain.state.reader)}
    assert later[node.address] == 20
    assert queries.node(chain.state.reader, node.address).status is Status.ACTIVE
    chain.run([])  # block 4: still the old set
    assert node.address in {m.address for m in staking_queries.validator_set(chain.state.reader)}


def test_registry_notaries_take_the_committee_over_only_from_the_fourth() -> None:
    chain = chain_of(role_min_stake={"validator": str(10 * COIN), "notary": str(COIN)})
    validators = [member.address for member in notary_committee(chain.state.reader)]
    notaries = [Wallet.of(index) for index in range(4)]
    for count, node in enumerate(notaries, start=1):
        message = registration(
            NodeType.ENTERPRISE, (Role.NOTARY,), key=50 + count, stake=COIN,
            did=f"did:metanode:notary{count}", p2p_address=f"notary{count}.example:7000",
        )  # fmt: skip
        assert chain.run([node.tx(0, message)]).receipts[0].code == OK
        run_until_height(chain, (chain.state.height // EPOCH + 1) * EPOCH)  # active
        assert queries.node(chain.state.reader, node.address).status is Status.ACTIVE
        committee = [member.address for member in notary_committee(chain.state.reader)]
        if count < 4:  # below the floor: one joiner never signs LogBlocks alone
            assert committee == validators, count
    assert committee == sorted(node.address for node in notaries)


def equivocation(index: int, height: int, round_: int = 0) -> SubmitEvidence:
    """Validator `index` signs two PREPAREs for different blocks in one slot."""
    return equivocation_by(validator_wallet(index), height, round_)


def equivocation_by(wallet: Wallet, height: int, round_: int = 0) -> SubmitEvidence:
    signed = []
    for digest in (bytes(32), b"\x01" * 32):
        record = Signed(Kind.PREPARE, height, round_, digest, None, b"", wallet.address)
        signature = wallet.key.sign(record.signing_message()).signature
        signed.append(
            Signed(Kind.PREPARE, height, round_, digest, None, b"", wallet.address, signature)
        )
    return SubmitEvidence(signed[0], signed[1])


def test_evidence_slashes_jails_and_the_validator_leaves_at_the_next_epoch() -> None:
    chain = chain_of(validators=2, slash_fraction_bps=1_000, slash_to_treasury=True)
    bad = validator_wallet(1).address
    stake = staking_queries.validator(chain.state.reader, bad).stake
    reporter = Wallet.of(1)
    run_until_height(chain, 4)
    evidence = equivocation(1, height=2)
    changes = chain.run([reporter.tx(0, evidence)])  # block 5
    assert changes.receipts[0].code == OK
    assert changes.receipts[0].events[0].kind == "slashed"
    assert staking_queries.validator(chain.state.reader, bad).stake == stake - stake // 10
    assert bank_queries.balance(chain.state.reader, TREASURY, Denom.GEN) == stake // 10
    assert queries.evidence_used_at(chain.state.reader, evidence_hash(evidence)) == 5
    # The same pair, in either order, is spent.
    swapped = SubmitEvidence(evidence.second, evidence.first)
    code = chain.run([reporter.tx(1, swapped)]).receipts[0].code  # block 6
    assert name_of(code) == "registry.evidence_already_used"
    # Still signing until the set of the next epoch (from 9) is fixed at the end of block 7.
    assert bad in {m.address for m in staking_queries.next_validator_set(chain.state.reader)}
    chain.run([])  # block 7
    assert bad not in {m.address for m in staking_queries.next_validator_set(chain.state.reader)}
    assert bad in {m.address for m in staking_queries.validator_set(chain.state.reader)}


def block_item(message: SubmitEvidence) -> bytes:
    """The pair as the consensus layer puts it in `Block.evidence`."""
    return Evidence(message.first, message.second).encode()


def test_block_evidence_slashes_and_jails_without_a_transaction() -> None:
    chain = chain_of(validators=2, slash_fraction_bps=1_000)
    bad = validator_wallet(1).address
    stake = staking_queries.validator(chain.state.reader, bad).stake
    supply = bank_queries.supply(chain.state.reader, Denom.GEN).total
    run_until_height(chain, 4)
    evidence = equivocation(1, height=2)
    proposal = chain.propose([], evidence=(block_item(evidence),))
    assert proposal.block.evidence == (block_item(evidence),)
    changes = apply_block(chain.state, proposal.block)  # block 5, as a follower runs it
    assert changes.state_root == proposal.changes.state_root
    chain.commit(changes)
    check_all(chain.state.reader)
    assert changes.receipts == ()
    assert staking_queries.validator(chain.state.reader, bad).stake == stake - stake // 10
    assert bank_queries.supply(chain.state.reader, Denom.GEN).total == supply - stake // 10
    assert queries.evidence_used_at(chain.state.reader, evidence_hash(evidence)) == 5
    chain.run([])
    chain.run([])  # block 7 fixes the set of the next epoch
    assert bad not in {m.address for m in staking_queries.next_validator_set(chain.state.reader)}


def with_evidence(block: Block, *items: bytes) -> Block:
    return Block(block.header, block.txs, items, block.last_certificate)


def test_block_with_invalid_evidence_is_invalid_and_the_proposer_leaves_it_out() -> None:
    chain = chain_of(validators=2)
    run_until_height(chain, 4)
    good = equivocation(1, height=2)
    forged = SubmitEvidence(good.first, Signed(*[*_fields(good.second)[:-1], bytes(64)]))
    unsorted = encode([good.second.to_wire(), good.first.to_wire()])
    if unsorted == block_item(good):
        unsorted = encode([good.first.to_wire(), good.second.to_wire()])
    cases = [
        (block_item(forged), "registry.evidence_signature_invalid"),
        (block_item(equivocation(1, height=5)), "registry.evidence_from_future"),
        (b"\x80", "registry.evidence_malformed"),
        (unsorted, "registry.evidence_malformed"),
    ]
    for item, code in cases:
        proposal = chain.propose([], evidence=(item,))
        assert proposal.block.evidence == ()
        with pytest.raises(InvalidBlock) as refused:
            apply_block(chain.state, with_evidence(proposal.block, item))
        assert (refused.value.reason, refused.value.detail) == ("evidence_refused", code)
        assert refused.value.evidence_index == 0
    assert chain.state.height == 4  # nothing was committed


def test_evidence_is_spent_once_by_block_or_transaction() -> None:
    chain = chain_of(validators=3)
    reporter = Wallet.of(1)
    run_until_height(chain, 4)
    by_tx, by_block = equivocation(1, height=2), equivocation(2, height=3)
    assert chain.run([reporter.tx(0, by_tx)]).receipts[0].code == OK  # block 5
    # The transaction spent it: the proposer leaves it out, a block carrying it is invalid.
    proposal = chain.propose([], evidence=(block_item(by_tx), block_item(by_block)))
    assert proposal.block.evidence == (block_item(by_block),)
    with pytest.raises(InvalidBlock, match="evidence_already_used"):
        apply_block(chain.state, with_evidence(proposal.block, block_item(by_tx)))
    # The same pair twice in one block is invalid too.
    with pytest.raises(InvalidBlock, match="evidence_already_used") as twice:
        apply_block(chain.state, with_evidence(proposal.block, *[block_item(by_block)] * 2))
    assert twice.value.evidence_index == 1
    chain.commit(apply_block(chain.state, proposal.block))  # block 6: by the block
    code = chain.run([reporter.tx(1, by_block)]).receipts[0].code
    assert name_of(code) == "registry.evidence_already_used"


def test_evidence_ladder_order_is_pinned() -> None:
    chain = chain_of(validators=2, evidence_age_blocks_max=4)
    reporter = Wallet.of(1)
    good = equivocation(1, height=10)
    other = equivocation(0, height=10)
    forged_signature = Signed(*[*_fields(good.second)[:-1], bytes(64)])
    unknown = Wallet.of(99)
    stranger = Signed(Kind.PREPARE, 8, 0, bytes(32), None, b"", unknown.address, bytes(64))
    stranger_2 = Signed(Kind.PREPARE, 8, 0, b"\x02" * 32, None, b"", unknown.address, bytes(64))
    outsider = Wallet.of(2)  # registered, never bonded: in no set
    bls_key, pop = bls_material(44)
    chain.run([outsider.tx(0, RegisterValidator(bls_key, pop, seed("vrf", 44)))])
    run_until_height(chain, 5)
    steps = [
        (SubmitEvidence(good.first, other.first), "registry.evidence_not_same_slot"),
        (SubmitEvidence(good.first, good.first), "registry.evidence_messages_identical"),
        (equivocation(1, height=8), "registry.evidence_from_future"),  # in block 8
        (equivocation(1, height=2), "registry.evidence_too_old"),  # block 9: 2 + 4 < 9
        (SubmitEvidence(stranger, stranger_2), "registry.evidence_validator_unknown"),
        (equivocation_by(outsider, height=8), "registry.evidence_validator_not_in_set"),
        (SubmitEvidence(good.first, forged_signature), "registry.evidence_signature_invalid"),
        (good, "ok"),
        (good, "registry.evidence_already_used"),
        (equivocation(1, height=12), "registry.validator_already_jailed"),
    ]
    for nonce, (message, expected) in enumerate(steps):
        receipt = chain.run([reporter.tx(nonce, message)]).receipts[0]
        assert name_of(receipt.code) == expected, (nonce, expected)


def _fields(signed: Signed) -> list[Any]:
    return [
        signed.kind,
        signed.height,
        signed.round,
        signed.digest,
        signed.prepared_round,
        signed.seal,
        signed.signer,
        signed.signature,
    ]


def test_genesis_round_trip_with_nodes_jailing_and_treasury() -> None:
    chain = chain_of(validators=2, slash_to_treasury=True)
    chain.run([])
    chain.run(
        [
            Wallet.of(1).tx(0, registration(stake=3 * COIN)),
            Wallet.of(2).tx(
                0, registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), key=43, stake=20 * COIN)
            ),
            Wallet.of(3).tx(0, equivocation(1, height=1)),
        ]
    )
    receipts = chain.run([]).receipts
    assert receipts == ()
    exported = export_genesis(chain.state.reader)
    assert len(exported.registry.nodes) == 2
    # The treasury is exported as an account (bank), slashed GEN and all.
    held = {account.address: account.balances for account in exported.accounts}
    assert held[TREASURY][Denom.GEN - 1] > 0
    assert exported.staking.jailed == ((validator_wallet(1).address, 2),)
    assert len(exported.registry.used_evidence) == 1
    # Through the file and back: the same document, and it imports to the same export.
    again = parse_genesis(exported.to_json())
    assert again == exported
    from metanode.state.view import MemoryReader

    reader = MemoryReader(dict((k, v) for k, v in genesis_writes(again) if v is not None))
    assert export_genesis(reader) == exported


def test_a_slashed_validator_s_delegators_lose_the_same_fraction() -> None:
    chain = chain_of(validators=2, slash_fraction_bps=2_500)
    bad = validator_wallet(1).address
    holder = Wallet.of(1)
    from metanode.types import Bond

    chain.run([holder.tx(0, Bond(bad, 8 * COIN + 3))])
    chain.run([holder.tx(1, equivocation(1, height=1))])
    assert staking_queries.delegation(chain.state.reader, holder.address, bad) == (
        8 * COIN + 3 - (8 * COIN + 3) * 2_500 // 10_000
    )


def test_validator_set_history_answers_every_past_height() -> None:
    chain = chain_of(validators=2)
    node = Wallet.of(2)
    message = registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), key=43, stake=20 * COIN)
    chain.run([node.tx(0, message)])  # block 1; the node signs from 5
    run_until_height(chain, 9)
    chain.run([Wallet.of(3).tx(0, equivocation(1, height=6))])  # block 10; 1 leaves from 13
    run_until_height(chain, 14)
    reader = chain.state.reader
    members_at = {h: staking_queries.validator_set_at(reader, h) for h in range(1, 17)}
    for block in chain.blocks:  # what each header committed to, read back by height
        header = block.header
        assert set_hash(encode_set(members_at[header.height])) == header.validator_set_hash
        following = members_at[header.height + 1]
        assert set_hash(encode_set(following)) == header.next_validator_set_hash
    addresses = {h: {m.address for m in members} for h, members in members_at.items()}
    assert node.address not in addresses[4] and node.address in addresses[5]
    assert validator_wallet(1).address in addresses[12]
    assert validator_wallet(1).address not in addresses[13]
    assert addresses[15] == addresses[16] == addresses[13]
    # Genesis is signed by no set; the set of tip + 3 is not fixed yet.
    assert staking_queries.validator_set_at(reader, 0) is None
    assert staking_queries.validator_set_at(reader, 17) is None
    # Evidence of the node from before it joined is refused: it signed nothing that counted.
    code = chain.run([node.tx(1, equivocation_by(node, height=4))]).receipts[0].code
    assert name_of(code) == "registry.evidence_validator_not_in_set"
    assert (
        name_of(chain.run([node.tx(2, equivocation_by(node, height=5))]).receipts[0].code) == "ok"
    )
