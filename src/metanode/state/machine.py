"""The state machine: `apply_block(state, block) -> BlockChanges`, pure.

Rules:
- No I/O, no clock but the block's timestamp, no randomness, nothing iterated in hash order.
  State is read through the reader protocol (`view.py`); every write goes to one overlay.
- The last certificate first: block h ≥ 2 carries the commit certificate of h - 1, which the
  node's edge has verified (its aggregate signature against `validator_set_at(h - 1)`: BLS is
  not the state machine's to check, as with block sync). Here it must be for the previous
  block and match the header's `last_certificate_hash`; its signer bitmap then runs the
  registry's missed-commit window (registry/downtime.py), which may jail.
- Evidence next: each item of `block.evidence` (equivocation, recorded by the consensus
  layer, runs the registry's evidence rule, the one `SubmitEvidence` runs; light-client attack
  evidence, accepted by a node's gateway, runs registry/light_attack.py; omission evidence
  runs registry/omission.py) with no sender and
  no fee, before any transaction. An item the rule refuses makes the block invalid
  (`InvalidBlock("evidence_refused")`, as CometBFT treats invalid evidence); `build_block`
  leaves such items out, and the consensus engine, seeing its own block without them, forgets
  them (`engine.forget_refused_evidence`: it needs no list of codes). The rule spends each
  pair once, so a pair that a transaction already used, or that sits twice in a block, is
  refused.
- Each transaction runs the auth guard ladder (auth/rules.py). A transaction that fails it is
  never in a block: `apply_block` raises `InvalidBlock` naming the transaction and the code,
  and consensus treats the proposal as invalid. `build_block` (the proposer's side) leaves such
  transactions out instead.
- A transaction that passes pays its fee and bumps its nonce, then its message rule runs. A
  rule that fails returns its code having written nothing (checked here: a rule that wrote and
  then failed is a bug, `InvariantViolation`), so the receipt records the code and the fee and
  nothing else changed.
- End of block, in this order: the block's fees (FLX) are split, `auth.treasury_fee_bps` of
  them (floored) to the treasury module account and the rest to the block's proposer, so no
  base unit is lost; the court decides the disputes whose deadline is this height (before
  staking, so a slash it makes counts in the next set); staking returns matured unbondings
  and rotates validator sets (a new set only at an epoch boundary); the tip record takes the
  block's height and time; a block whose height is a multiple of `staking.epoch_blocks`
  records the next executor draw's seed from its VRF proof (apps/assignment.py), and each
  placed blob's owner pays its holders the epoch's storage fee (storage/rules.py); at an epoch
  boundary the registry turns its pending nodes active and its leaving nodes unbonding, and
  in every block those whose stake staking paid back exited; governance executes the
  proposals that passed in an earlier block, tallies those whose voting period ends here and
  expires those whose deposit period does (last, so a parameter it changes is read from the
  next block on, by every module alike). Then the sorted writes go to the state tree in ONE
  batch update: one new root per block.
- Header commitments: `validator_set_hash` and `next_validator_set_hash` are read from the
  state before the block (staking/rules.py explains the two-height delay); `txs_root` is the
  RFC 6962 root whose leaf hashes are the transaction hashes; `state_root` is the root after
  the block; `receipts_root` is the RFC 6962 root over the encoded receipts. `apply_block`
  checks all five and the chain linkage (chain id, height, previous hash, non-decreasing time).
- Signatures: a transaction whose hash is in `verified` (checked at admission by this node) is
  not verified again; every other one is, inside the ladder. `verify_signatures=False` is for
  re-executing blocks this node stored itself (replay), whose signatures it checked before.
- The compiled core (`metanode.core`): each run of consecutive transactions carrying a
  `Transfer` goes to it in one call (state/transfers.py), with the same ladder, charge, rule,
  limits and codes as the loop below, which stays the reference (`METANODE_CORE=python`) and
  runs every other message.

Theory: the proposer calls `build_block`, which executes candidates and fills the header from
the result; every node calls `apply_block`, which executes the block's transactions the same
way and compares. Both return a `BlockChanges`: everything the store writes for the block in
its one transaction, and the state after it (an overlay, until the store has committed).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from types import ModuleType

from metanode.core import native
from metanode.crypto import merkle
from metanode.errors import MetanodeError, check
from metanode.state import transfers, tree
from metanode.state.apps import rules as apps
from metanode.state.apps.assignment import end_block as apps_end_block
from metanode.state.auth.params import read_params as read_auth_params
from metanode.state.auth.rules import charge, guard_ladder
from metanode.state.bank.accounts import TREASURY
from metanode.state.bank.rules import credit, on_transfer
from metanode.state.codes import OK, name_of
from metanode.state.context import BlockContext, TxContext
from metanode.state.court import rules as court
from metanode.state.court.challenge import on_challenge_receipt
from metanode.state.court.ruling import on_rule_dispute
from metanode.state.faucet.rules import on_faucet_claim
from metanode.state.genesis.chain import read_chain, read_tip, write_tip
from metanode.state.genesis.document import GenesisDocument
from metanode.state.genesis.state import genesis_writes
from metanode.state.governance import rules as governance
from metanode.state.identity import rules as identity
from metanode.state.keys.rules import on_add_node_key, on_migrate_account, on_rotate_node_key
from metanode.state.notary.rules import on_submit_logblock
from metanode.state.policy.rules import on_declare_region, on_register_policy
from metanode.state.privacy.rules import on_prove_kyc, on_publish_zk_issuer
from metanode.state.registry.downtime import on_last_certificate, on_unjail
from metanode.state.registry.omission import on_block_evidence
from metanode.state.registry.rules import end_block as registry_end_block
from metanode.state.registry.rules import (
    on_exit_node,
    on_register_node,
    on_submit_evidence,
)
from metanode.state.shadow.rules import on_grant_shadow, on_register_shadow
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.rules import end_block, on_bond, on_register_validator, on_unbond
from metanode.state.storage import rules as storage
from metanode.state.values import encode_plain
from metanode.state.view import FrozenOverlay, MemoryReader, Overlay, StateReader, Write
from metanode.types import (
    AddNodeKey,
    Address,
    Block,
    BlockHeader,
    Bond,
    CallApp,
    ChallengeReceipt,
    CommitCertificate,
    CreateDid,
    DeactivateDid,
    DeclareRegion,
    DeleteBlob,
    Denom,
    DeployApp,
    DeployStoredApp,
    Deposit,
    Event,
    ExitNode,
    FaucetClaim,
    GrantShadow,
    MigrateAccount,
    MoveDispute,
    OpenDispute,
    PlaceBlob,
    ProveKyc,
    PublishZkIssuer,
    Receipt,
    RegisterCredential,
    RegisterNode,
    RegisterPolicy,
    RegisterShadow,
    RegisterValidator,
    ReportStorageFault,
    RevealReceipt,
    RevokeCredential,
    RotateDidKey,
    RotateNodeKey,
    RuleDispute,
    ScaleApp,
    SubmitEvidence,
    SubmitLogBlock,
    SubmitProposal,
    Transaction,
    Transfer,
    Unbond,
    Unjail,
    UpdateDid,
    UpgradeApp,
    UpgradeStoredApp,
    Vote,
)
from metanode.types import constants as types_constants
from metanode.types.block import last_certificate_hash

Handler = Callable[[Overlay, TxContext, object], int]
HANDLERS: dict[type, Handler] = {
    Transfer: on_transfer,  # type: ignore[dict-item]
    Bond: on_bond,  # type: ignore[dict-item]
    Unbond: on_unbond,  # type: ignore[dict-item]
    RegisterValidator: on_register_validator,  # type: ignore[dict-item]
    FaucetClaim: on_faucet_claim,  # type: ignore[dict-item]
    RegisterNode: on_register_node,  # type: ignore[dict-item]
    SubmitEvidence: on_submit_evidence,  # type: ignore[dict-item]
    CreateDid: identity.on_create_did,  # type: ignore[dict-item]
    UpdateDid: identity.on_update_did,  # type: ignore[dict-item]
    RotateDidKey: identity.on_rotate_did_key,  # type: ignore[dict-item]
    DeactivateDid: identity.on_deactivate_did,  # type: ignore[dict-item]
    RegisterCredential: identity.on_register_credential,  # type: ignore[dict-item]
    RevokeCredential: identity.on_revoke_credential,  # type: ignore[dict-item]
    SubmitProposal: governance.on_submit_proposal,  # type: ignore[dict-item]
    Deposit: governance.on_deposit,  # type: ignore[dict-item]
    Vote: governance.on_vote,  # type: ignore[dict-item]
    ExitNode: on_exit_node,  # type: ignore[dict-item]
    DeployApp: apps.on_deploy_app,  # type: ignore[dict-item]
    DeployStoredApp: apps.on_deploy_stored_app,  # type: ignore[dict-item]
    UpgradeApp: apps.on_upgrade_app,  # type: ignore[dict-item]
    CallApp: apps.on_call_app,  # type: ignore[dict-item]
    ScaleApp: apps.on_scale_app,  # type: ignore[dict-item]
    SubmitLogBlock: on_submit_logblock,  # type: ignore[dict-item]
    Unjail: on_unjail,  # type: ignore[dict-item]
    OpenDispute: court.on_open_dispute,  # type: ignore[dict-item]
    ChallengeReceipt: on_challenge_receipt,  # type: ignore[dict-item]
    RevealReceipt: court.on_reveal_receipt,  # type: ignore[dict-item]
    MoveDispute: court.on_move_dispute,  # type: ignore[dict-item]
    RuleDispute: on_rule_dispute,  # type: ignore[dict-item]
    RegisterShadow: on_register_shadow,  # type: ignore[dict-item]
    GrantShadow: on_grant_shadow,  # type: ignore[dict-item]
    RegisterPolicy: on_register_policy,  # type: ignore[dict-item]
    DeclareRegion: on_declare_region,  # type: ignore[dict-item]
    ProveKyc: on_prove_kyc,  # type: ignore[dict-item]
    PublishZkIssuer: on_publish_zk_issuer,  # type: ignore[dict-item]
    PlaceBlob: storage.on_place_blob,  # type: ignore[dict-item]
    ReportStorageFault: storage.on_report_storage_fault,  # type: ignore[dict-item]
    DeleteBlob: storage.on_delete_blob,  # type: ignore[dict-item]
    MigrateAccount: on_migrate_account,  # type: ignore[dict-item]
    AddNodeKey: on_add_node_key,  # type: ignore[dict-item]
    RotateNodeKey: on_rotate_node_key,  # type: ignore[dict-item]
    UpgradeStoredApp: apps.on_upgrade_stored_app,  # type: ignore[dict-item]
}


class InvalidBlock(MetanodeError):
    """A block that must not be committed: a transaction failed the guard ladder, or a header
    field disagrees with what executing the block gives. `reason` is a stable identifier."""

    def __init__(
        self,
        reason: str,
        detail: str,
        tx_index: int | None = None,
        evidence_index: int | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.tx_index = tx_index
        self.evidence_index = evidence_index
        where = f" (transaction {tx_index})" if tx_index is not None else ""
        if evidence_index is not None:
            where = f" (evidence {evidence_index})"
        super().__init__(f"invalid block: {reason}{where}: {detail}")


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Committed state as the machine sees it: a reader of state values, a reader of tree
    nodes, and the tip (height, root, hash of the last block; the genesis hash at height 0)."""

    reader: StateReader
    nodes: tree.NodeReader
    height: int
    state_root: bytes
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class BlockChanges:
    """Everything one block does, as the store writes it in one transaction."""

    block: Block | None  # None for genesis (height 0)
    height: int
    writes: tuple[Write, ...]  # sorted by key; value None deletes
    tree: tree.TreeUpdate  # new root, node writes, stale node keys
    receipts: tuple[Receipt, ...]
    tx_hashes: tuple[bytes, ...]
    receipts_root: bytes
    state: LedgerState  # the state after the block
    # Each transaction's raw addresses the store indexes it under (`touched_addresses`).
    touched: tuple[list[bytes], ...] = ()

    @property
    def state_root(self) -> bytes:
        return self.tree.root

    @property
    def block_hash(self) -> bytes:
        return self.state.block_hash


def touched_addresses(tx: Transaction, sender: Address | None = None) -> tuple[Address, ...]:
    """The addresses a transaction is indexed under: its sender and its counterparty."""
    sender = tx.sender_address if sender is None else sender
    message = tx.message
    # Raw bytes compared: a dataclass's `__eq__` builds two tuples (a block indexes 5,000).
    if isinstance(message, Transfer) and message.to.raw != sender.raw:
        return (sender, message.to)
    if isinstance(message, Bond | Unbond) and message.validator.raw != sender.raw:
        return (sender, message.validator)
    return (sender,)


def init_chain(document: GenesisDocument, nodes: tree.NodeReader | None = None) -> BlockChanges:
    """The state at height 0: the genesis document written into an empty state."""
    writes = genesis_writes(document)
    node_reader = nodes if nodes is not None else tree.MemoryNodes()
    update = tree.update(node_reader, None, 0, writes)
    state = LedgerState(
        reader=MemoryReader(),
        nodes=node_reader,
        height=0,
        state_root=update.root,
        block_hash=document.hash(),
    )
    after = _after(state, 0, writes, update, document.hash())
    return BlockChanges(None, 0, tuple(writes), update, (), (), merkle.root([]), after)


def _after(
    state: LedgerState,
    height: int,
    writes: Sequence[Write],
    update: tree.TreeUpdate,
    block_hash: bytes,
) -> LedgerState:
    return LedgerState(
        reader=FrozenOverlay(state.reader, writes),
        nodes=tree.overlay(state.nodes, update),
        height=height,
        state_root=update.root,
        block_hash=block_hash,
    )


@dataclass(slots=True)
class _Execution:
    overlay: Overlay
    included: list[Transaction]
    tx_hashes: list[bytes]
    touched: list[list[bytes]]
    receipts: list[Receipt]
    dropped: list[tuple[Transaction, int]]
    evidence: list[bytes]
    fees: int = 0
    size: int = 0  # encoded bytes of the included transactions
    seen: int = 0  # transactions looked at: the next one's index in the block


def _execute(
    state: LedgerState,
    context: BlockContext,
    txs: Iterable[Transaction],
    verified: Container[bytes],
    verify_signatures: bool,
    strict: bool,
    evidence: Sequence[bytes] = (),
    last_certificate: CommitCertificate | None = None,
    txs_max: int = types_constants.block_txs_max,
    bytes_max: int = types_constants.block_bytes_max,
) -> _Execution:
    overlay = Overlay(state.reader)
    params = read_auth_params(overlay)
    chain_id = context.chain.chain_id
    height = context.height
    run = _Execution(overlay, [], [], [], [], [], [])
    if last_certificate is not None:
        on_last_certificate(overlay, context, last_certificate)
    for index, item in enumerate(evidence):
        before = overlay.write_count
        code = on_block_evidence(overlay, context, item)
        if code == OK:
            run.evidence.append(item)
            continue
        check(overlay.write_count == before, f"evidence rule wrote before {name_of(code)}")
        if strict:
            raise InvalidBlock("evidence_refused", name_of(code), evidence_index=index)

    def refuse(tx: Transaction, code: int) -> None:
        if strict:
            raise InvalidBlock("transaction_fails_ladder", name_of(code), run.seen)
        run.dropped.append((tx, code))

    def include(tx: Transaction, tx_hash: bytes, sender: Address, receipt: Receipt) -> None:
        run.included.append(tx)
        run.tx_hashes.append(tx_hash)
        run.touched.append([address.raw for address in touched_addresses(tx, sender)])
        run.receipts.append(receipt)
        run.size += len(tx.encode())

    def execute_one(tx: Transaction) -> bool:
        """The reference: one transaction through the ladder, the charge and its rule."""
        if not strict and (len(run.included) >= txs_max or run.size + len(tx.encode()) > bytes_max):
            return False
        tx_hash = tx.hash()
        sender = tx.sender_address
        signature_checked = not verify_signatures or tx_hash in verified
        code = guard_ladder(overlay, params, chain_id, height, tx, sender, signature_checked)
        if code != OK:
            refuse(tx, code)
            run.seen += 1
            return True
        charge(overlay, sender, tx)
        run.fees += tx.fee
        handler = HANDLERS[type(tx.message)]
        tx_context = TxContext(
            context,
            sender,
            tx.sender,
            tx.pq_public_key is not None,
            fee=tx.fee,
            nonce=tx.nonce,
            tx_hash=tx_hash,
        )
        before = overlay.write_count
        code = handler(overlay, tx_context, tx.message)
        if code != OK:
            check(
                overlay.write_count == before and not tx_context.events,
                f"rule for {type(tx.message).__name__} wrote before failing with {name_of(code)}",
            )
        include(tx, tx_hash, sender, Receipt(tx_hash, code, tx.fee, tuple(tx_context.events)))
        run.seen += 1
        return True

    def execute_transfers(core: ModuleType, batch: list[Transaction]) -> bool:
        """A run of transfers in one call into the compiled core (state/transfers.py)."""
        senders = [tx.sender_address for tx in batch]
        room = None if strict else (txs_max - len(run.included), bytes_max - run.size)
        result = transfers.execute_run(
            core,
            overlay,
            params,
            context,
            batch,
            senders,
            verified if verify_signatures else None,
            room,
        )
        run.fees += result.fees
        outcomes = result.outcomes
        codes = transfers.OUTCOME_CODES
        first = run.seen
        # Whole lists, not a Python call per transaction (the loop was ≈ 1 µs a transfer):
        # the ladder's refusals in block order (applying a block, the first raises, naming
        # its index), then the rest included in block order with their rule's code.
        for position, outcome in enumerate(outcomes):
            if outcome in transfers.LADDER_OUTCOMES:
                run.seen = first + position
                refuse(batch[position], codes[outcome])
        kept = [
            position
            for position, outcome in enumerate(outcomes)
            if outcome not in transfers.LADDER_OUTCOMES
        ]
        included = [batch[position] for position in kept]
        tx_hashes = [tx.hash() for tx in included]
        run.included += included
        run.tx_hashes += tx_hashes
        run.touched += [result.touched[position] for position in kept]
        run.receipts += map(
            Receipt,
            tx_hashes,
            [codes[outcomes[position]] for position in kept],
            [tx.fee for tx in included],
        )
        run.size += sum(len(tx.encode()) for tx in included)
        run.seen = first + len(outcomes)
        return len(outcomes) == len(batch)

    core = native()
    for is_transfer_run, group in groupby(
        txs, key=lambda tx: core is not None and type(tx.message) is Transfer
    ):
        if is_transfer_run:
            go_on = execute_transfers(core, list(group))  # type: ignore[arg-type]
        else:
            go_on = all(execute_one(tx) for tx in group)
        if not go_on:
            break
    treasury_share, proposer_share = params.split_fees(run.fees)
    credit(overlay, TREASURY, Denom.FLX, treasury_share)
    credit(overlay, context.proposer, Denom.FLX, proposer_share)
    court.end_block(overlay, context)
    end_block(overlay, context)
    write_tip(overlay, height, context.timestamp_ms)
    apps_end_block(overlay, context)
    storage.end_block(overlay, context)
    registry_end_block(overlay, context)
    governance.end_block(overlay, context)
    return run


def _context(
    state: LedgerState, height: int, timestamp_ms: int, proposer: Address, vrf_proof: bytes
) -> BlockContext:
    return BlockContext(
        read_chain(state.reader), height, timestamp_ms, proposer, vrf_proof=vrf_proof
    )


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    # Receipts are uint64s, byte and text strings and arrays: `encode_plain` writes the same
    # bytes as `Receipt.encode()` (tests/state/test_values.py) at a third of the cost. The
    # core encodes each receipt itself and hashes with the GIL released (`_core.receipts_root`,
    # rust/src/receipts.rs): the receipts cross as the tuples they are, and only the rare
    # events come back here to be encoded.
    compiled = native()
    if compiled is None:
        return merkle.root([encode_plain(receipt.to_wire()) for receipt in receipts])
    return compiled.receipts_root(receipts, _encode_events)  # type: ignore[no-any-return]


def _encode_events(events: tuple[Event, ...]) -> bytes:
    """A receipt's events as the encoded array its encoding ends with."""
    return encode_plain([event.to_wire() for event in events])


def txs_root(tx_hashes: Sequence[bytes]) -> bytes:
    # The transaction hashes are the leaf hashes: a tagged hash starts its input with the tag's
    # ASCII name, never with RFC 6962's 0x01 node prefix, so no transaction hash can pose as an
    # interior node (the job the 0x00 leaf prefix does for raw leaf data).
    compiled = native()
    if compiled is None:
        return merkle.root_from_leaf_hashes(list(tx_hashes))
    return compiled.merkle_root_from_leaf_hashes(tx_hashes)  # type: ignore[no-any-return]


def apply_block(
    state: LedgerState,
    block: Block,
    *,
    verified: Container[bytes] = frozenset(),
    verify_signatures: bool = True,
    preverify: Callable[[Sequence[Transaction]], None] | None = None,
) -> BlockChanges:
    """Execute `block` on `state`; raise `InvalidBlock` if it must not be committed.

    `preverify`, if given, receives the block's transactions once the header has passed its
    checks and before any executes: a node verifies there, all at once, the signatures it has
    not seen and adds them to `verified` (a block refused by its header costs no signature)."""
    header = block.header
    chain = read_chain(state.reader)
    _tip_height, tip_time = read_tip(state.reader)
    if header.chain_id != chain.chain_id:
        raise InvalidBlock("wrong_chain", f"header.chain_id {header.chain_id!r}")
    if header.height != state.height + 1:
        raise InvalidBlock("wrong_height", f"height {header.height} after {state.height}")
    if header.previous_hash != state.block_hash:
        raise InvalidBlock("wrong_previous_hash", header.previous_hash.hex())
    if header.timestamp_ms < tip_time:
        raise InvalidBlock("time_went_back", f"{header.timestamp_ms} < {tip_time}")
    if header.validator_set_hash != staking_queries.validator_set_hash(state.reader):
        raise InvalidBlock("wrong_validator_set_hash", header.validator_set_hash.hex())
    if header.next_validator_set_hash != staking_queries.next_validator_set_hash(state.reader):
        raise InvalidBlock("wrong_next_validator_set_hash", header.next_validator_set_hash.hex())
    _check_last_certificate(state, block)
    if len(block.evidence) > types_constants.block_evidence_max:
        raise InvalidBlock(
            "too_much_evidence",
            f"{len(block.evidence)} items, at most {types_constants.block_evidence_max}",
        )
    if preverify is not None and verify_signatures:
        preverify(block.txs)
    context = BlockContext(
        chain, header.height, header.timestamp_ms, header.proposer, vrf_proof=header.vrf_proof
    )
    run = _execute(
        state,
        context,
        block.txs,
        verified,
        verify_signatures,
        strict=True,
        evidence=block.evidence,
        last_certificate=block.last_certificate,
    )
    if txs_root(run.tx_hashes) != header.txs_root:
        raise InvalidBlock("wrong_txs_root", header.txs_root.hex())
    writes = run.overlay.sorted_writes()
    update = tree.update(state.nodes, state.state_root, header.height, writes)
    if update.root != header.state_root:
        raise InvalidBlock(
            "wrong_state_root", f"header {header.state_root.hex()}, executed {update.root.hex()}"
        )
    root = receipts_root(run.receipts)
    if root != header.receipts_root:
        raise InvalidBlock("wrong_receipts_root", header.receipts_root.hex())
    after = _after(state, header.height, writes, update, block.hash())
    return BlockChanges(
        block,
        header.height,
        tuple(writes),
        update,
        tuple(run.receipts),
        tuple(run.tx_hashes),
        root,
        after,
        tuple(run.touched),
    )


def _check_last_certificate(state: LedgerState, block: Block) -> None:
    certificate = block.last_certificate
    if block.header.last_certificate_hash != last_certificate_hash(certificate):
        raise InvalidBlock("wrong_last_certificate_hash", block.header.last_certificate_hash.hex())
    if state.height == 0:
        if certificate is not None:
            raise InvalidBlock("unexpected_last_certificate", "block 1 follows genesis, unsigned")
        return
    if certificate is None:
        raise InvalidBlock("missing_last_certificate", f"block {block.header.height} carries none")
    if certificate.height != state.height or certificate.block_hash != state.block_hash:
        raise InvalidBlock(
            "wrong_last_certificate",
            f"certificate of height {certificate.height} for {certificate.block_hash.hex()}, "
            f"the last block is {state.height} {state.block_hash.hex()}",
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    block: Block
    changes: BlockChanges
    dropped: tuple[tuple[Transaction, int], ...]  # candidates left out, with their ladder code


def build_block(
    state: LedgerState,
    candidates: Iterable[Transaction],
    *,
    timestamp_ms: int,
    proposer: Address,
    round: int = 0,
    vrf_proof: bytes = bytes(types_constants.vrf_proof_bytes),
    verified: Container[bytes] = frozenset(),
    verify_signatures: bool = True,
    txs_max: int = types_constants.block_txs_max,
    evidence: tuple[bytes, ...] = (),
    last_certificate: CommitCertificate | None = None,
) -> Proposal:
    """The proposer's side: execute candidates in order, leave out those that fail the ladder
    (and any past the block's limits), and fill the header from the result. The changes are the
    same `apply_block` would compute for the returned block, so the proposer need not re-run.
    A `timestamp_ms` before the last block's is raised to it (time never goes back).
    `last_certificate` is the certificate of the last block, from the proposer's store (None
    only for block 1)."""
    height = state.height + 1
    _tip_height, tip_time = read_tip(state.reader)
    timestamp_ms = max(timestamp_ms, tip_time)
    context = _context(state, height, timestamp_ms, proposer, vrf_proof)
    run = _execute(
        state,
        context,
        candidates,
        verified,
        verify_signatures,
        strict=False,
        evidence=evidence[: types_constants.block_evidence_max],
        last_certificate=last_certificate,
        txs_max=min(txs_max, types_constants.block_txs_max),
        # Leave room in the block for the header and framing.
        bytes_max=types_constants.block_bytes_max - 4096,
    )
    writes = run.overlay.sorted_writes()
    update = tree.update(state.nodes, state.state_root, height, writes)
    root = receipts_root(run.receipts)
    header = BlockHeader(
        chain_id=context.chain.chain_id,
        height=height,
        round=round,
        timestamp_ms=timestamp_ms,
        previous_hash=state.block_hash,
        txs_root=txs_root(run.tx_hashes),
        state_root=update.root,
        receipts_root=root,
        validator_set_hash=staking_queries.validator_set_hash(state.reader),
        next_validator_set_hash=staking_queries.next_validator_set_hash(state.reader),
        proposer=proposer,
        vrf_proof=vrf_proof,
        last_certificate_hash=last_certificate_hash(last_certificate),
    )
    block = Block(header, tuple(run.included), tuple(run.evidence), last_certificate)
    after = _after(state, height, writes, update, block.hash())
    changes = BlockChanges(
        block,
        height,
        tuple(writes),
        update,
        tuple(run.receipts),
        tuple(run.tx_hashes),
        root,
        after,
        tuple(run.touched),
    )
    return Proposal(block, changes, tuple(run.dropped))
