"""registry rules: the only code that writes node records, used evidence and the registry pool.

Rules:
- How the registry relates to staking: staking owns validator candidates, bonds and validator
  sets; the registry owns node records. A node registered with the validator role is ALSO a
  staking candidate: its registration writes staking's record (keys, proof of possession) and
  bonds its stake as its own delegation there, so consensus power, delegations, unbonding and
  the set rotation stay staking's alone. Other nodes' stake is held by the registry in the
  module account `registry/bonded` (record.stake). Validators registered through staking's own
  `RegisterValidator` (and genesis validators) have no registry record; slashing works on
  staking's records, so it covers them too.
- Registrations and jailing take effect at epoch boundaries: a new node is `pending` until the
  end of the block that fixes the next epoch's set (`StakingParams.is_epoch_end`), when it
  turns `active` and, if a validator, joins the set that signs from the epoch's first height.
  A jailed validator is left out of the set computed at the next boundary.
- Evidence: two consensus records of one validator for the same (kind, height, round) with
  different content, both signed with its Ed25519 key as of that height: the key of its entry
  in the set that signed the height (a validator can rotate its key, message 43, so staking's
  record holds only the key of the sets to come).
  The signer must be in the set that signed the evidence's height (staking's set history):
  a registered validator outside it signs nothing that counts.
  Evidence is usable once (its hash, the same as the consensus layer's, is recorded), within
  `evidence_age_blocks_max` blocks. The validator loses `slash_fraction_bps` of every
  delegation to it (burned, or to `treasury`) and is jailed for good, even if it was already
  jailed for missed commits (downtime.py), which `Unjail` could have lifted.
- Leaving (`ExitNode`): the node's whole stake enters staking's unbonding queue at once and a
  validator node retires from every later set; it turns unbonding at the next epoch boundary
  and exited at the end of its `exit_height`, when staking pays the stake back. A leaving node
  that evidence jails keeps its leaving status (its stake is already beyond the slash).
- Identity: a type that requires an identity level needs a `did:metanode` DID the sender
  controls, whose highest credential valid at the block time and not revoked is at least that
  level (state/identity). The level is read at registration; a credential that expires or is
  revoked later lowers what `queries.identity_level` reports for the node.
Each handler is a flat guard ladder (tests/state/test_registry.py pins the order): it returns
its failure code before writing anything. The most expensive rung (a pairing or two signature
checks) comes last.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.codec import tags
from metanode.crypto import bls, ed25519
from metanode.crypto.hashing import tagged_hash
from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.bank.accounts import TREASURY, module_address, read_account
from metanode.state.bank.rules import move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.identity.queries import controls, level_of
from metanode.state.identity.records import read_did
from metanode.state.registry import errors, keys
from metanode.state.registry.messages import (
    check_evidence,
    check_register,
    decode_block_evidence,
    evidence_encoding,
)
from metanode.state.registry.queries import node_stake
from metanode.state.registry.records import (
    IdentityLevel,
    NodeRecord,
    Status,
    read_node,
    read_params,
    write_node,
)
from metanode.state.staking import keys as staking_keys
from metanode.state.staking import queries as staking_queries
from metanode.state.staking import rules as staking
from metanode.state.staking.records import read_params as read_staking_params
from metanode.state.staking.records import read_uint, read_validator, write_uint
from metanode.state.view import Overlay
from metanode.types import (
    Address,
    Denom,
    Event,
    ExitNode,
    NodeType,
    RegisterNode,
    RegisterValidator,
    Role,
    SubmitEvidence,
)

REGISTRY_POOL = module_address("registry/bonded")


def on_register_node(writer: Overlay, context: TxContext, message: RegisterNode) -> int:
    code = check_register(message)
    if code != OK:
        return code
    if context.is_hybrid:
        # The record's Ed25519 key is the node's identity and its address is that key's hash.
        return errors.HYBRID_ACCOUNT_CANNOT_REGISTER
    address = context.sender
    if read_node(writer, address) is not None or read_validator(writer, address) is not None:
        return errors.ALREADY_REGISTERED
    params = read_params(writer)
    type_params = params.of(message.node_type)
    if not set(message.roles) <= set(type_params.roles):
        return errors.ROLE_NOT_ALLOWED
    if type_params.identity_level > IdentityLevel.NONE:
        did = read_did(writer, message.did)
        if did is None or not controls(writer, message.did, did, context.sender_public_key):
            return errors.DID_NOT_CONTROLLED
        if level_of(writer, message.did, context.block.timestamp_ms) < type_params.identity_level:
            return errors.IDENTITY_LEVEL_TOO_LOW
    if type_params.trust_score_min > 0:
        return errors.TRUST_SCORE_TOO_LOW  # no module computes trust scores yet: all are 0
    if message.stake < params.required_stake(message.node_type, message.roles):
        return errors.STAKE_BELOW_MINIMUM
    if read_account(writer, address).balance(Denom.GEN) < message.stake:
        return errors.INSUFFICIENT_FUNDS
    if (
        writer.get(keys.bls_key(message.bls_public_key)) is not None
        or writer.get(staking_keys.bls_key(message.bls_public_key)) is not None
    ):
        return errors.BLS_KEY_IN_USE
    count = read_uint(writer, keys.NODE_COUNT)
    validator_role = Role.VALIDATOR in message.roles
    if count >= constants.registry_nodes_max or (
        validator_role
        and read_uint(writer, staking_keys.VALIDATOR_COUNT) >= constants.validator_candidates_max
    ):
        return errors.REGISTRY_FULL
    if not bls.pop_is_valid(message.bls_public_key, message.bls_proof_of_possession):
        return errors.INVALID_PROOF_OF_POSSESSION
    record = NodeRecord(
        message.node_type,
        message.roles,
        context.sender_public_key,
        message.bls_public_key,
        message.bls_proof_of_possession,
        message.vrf_public_key,
        message.p2p_address,
        message.did,
        0 if validator_role else message.stake,
        Status.PENDING,
        context.block.height,
    )
    if validator_role:
        staking.register(
            writer,
            address,
            context.sender_public_key,
            RegisterValidator(
                message.bls_public_key, message.bls_proof_of_possession, message.vrf_public_key
            ),
        )
        validators = read_uint(writer, staking_keys.VALIDATOR_COUNT)
        write_uint(writer, staking_keys.VALIDATOR_COUNT, validators + 1)
        candidate = read_validator(writer, address)
        if candidate is None:
            raise InvariantViolation("staking.register wrote no record")
        if message.stake:
            staking.bond(writer, address, address, candidate, message.stake)
            context.block.changed.add(staking.CHANGED)
    else:
        check(
            move(writer, address, REGISTRY_POOL, Denom.GEN, message.stake) == OK,
            "stake moved after the funds check",
        )
        writer.put(keys.bls_key(message.bls_public_key), address.raw)
    write_node(writer, address, record)
    writer.put(keys.pending(address), b"")
    write_uint(writer, keys.NODE_COUNT, count + 1)
    return OK


def evidence_hash(message: SubmitEvidence) -> bytes:
    """The consensus layer's hash of the pair: the same two records give the same hash in
    either order."""
    return tagged_hash(tags.EVIDENCE, evidence_encoding(message))


def on_submit_evidence(writer: Overlay, context: TxContext, message: SubmitEvidence) -> int:
    return apply_evidence(writer, context.block, message, context.events)


def on_pair_evidence(writer: Overlay, block: BlockContext, item: bytes) -> int:
    """An equivocation pair of the block's evidence list, under the transaction's rule. The
    block has no receipt to carry the `slashed` event: the slash shows as the evidence's
    height (`queries.evidence_used_at`) and in the stake."""
    message = decode_block_evidence(item)
    if message is None:
        return errors.EVIDENCE_MALFORMED
    return apply_evidence(writer, block, message, [])


def apply_evidence(
    writer: Overlay, block: BlockContext, message: SubmitEvidence, events: list[Event]
) -> int:
    """The evidence rule, for a transaction and for the block's own list alike: one ladder and
    one record of spent evidence, so a pair slashes once whichever way it arrives."""
    code = check_evidence(message)
    if code != OK:
        return code
    height = message.first.height
    if height >= block.height:
        return errors.EVIDENCE_FROM_FUTURE
    params = read_params(writer)
    if height + params.evidence_age_blocks_max < block.height:
        return errors.EVIDENCE_TOO_OLD
    validator = message.first.signer
    if read_validator(writer, validator) is None:
        return errors.EVIDENCE_VALIDATOR_UNKNOWN
    members = staking_queries.validator_set_at(writer, height)
    member = next((m for m in members or () if m.address == validator), None)
    if member is None:
        return errors.EVIDENCE_VALIDATOR_NOT_IN_SET
    digest = evidence_hash(message)
    if writer.get(keys.evidence(digest)) is not None:
        return errors.EVIDENCE_ALREADY_USED
    if staking.is_jailed(writer, validator) and writer.get(keys.downtime_jail(validator)) is None:
        return errors.VALIDATOR_ALREADY_JAILED
    for signed in (message.first, message.second):
        if not ed25519.is_valid(member.public_key, signed.signing_message(), signed.signature):
            return errors.EVIDENCE_SIGNATURE_INVALID
    slashed = punish(writer, block, validator, params.slash_fraction_bps)
    writer.delete(keys.downtime_jail(validator))  # jailed for missed commits: now for good
    write_uint(writer, keys.evidence(digest), block.height)
    events.append(
        Event(
            "slashed",
            (
                ("validator", validator.raw),
                ("amount", slashed.to_bytes(8, "big")),
                ("evidence", digest),
            ),
        )
    )
    return OK


def punish(writer: Overlay, block: BlockContext, validator: Address, fraction_bps: int) -> int:
    """Slash `fraction_bps` of every delegation to `validator` (to the treasury or burned, by
    the parameters) and jail it, in staking and in its registry record; the amount cut. Shared
    by equivocation evidence and missed commits (downtime.py)."""
    params = read_params(writer)
    slashed = staking.slash(
        writer, block, validator, fraction_bps, TREASURY if params.slash_to_treasury else None
    )
    staking.jail(writer, block, validator)
    writer.delete(keys.signing(validator))  # a jailed validator's missed commits count no more
    node = read_node(writer, validator)
    if node is not None and not node.exit_height:
        # A node that is leaving keeps its leaving status: staking's jail already keeps it out
        # of every set, and its stake is in the unbonding queue, beyond the slash.
        write_node(writer, validator, node.with_status(Status.JAILED))
        writer.delete(keys.pending(validator))
    return slashed


def on_exit_node(writer: Overlay, context: TxContext, message: ExitNode) -> int:
    address = context.sender
    node = read_node(writer, address)
    if node is None:
        return errors.NODE_NOT_REGISTERED
    if node.exit_height:
        return errors.NODE_ALREADY_LEAVING
    if node.status is Status.JAILED:
        return errors.NODE_JAILED
    block = context.block
    stake = node_stake(writer, address, node)
    if stake:
        locked = (
            staking.unbond(writer, block, address, address, stake)
            if node.is_validator
            else staking.queue_unbonding(writer, block, address, REGISTRY_POOL, stake)
        )
        if locked is None:
            return errors.UNBONDING_QUEUE_FULL
    if node.is_validator:
        staking.retire(writer, block, address)
    completion = staking.unbonding_completion(writer, block.height)
    write_node(writer, address, replace(node, stake=0, exit_height=completion))
    writer.put(keys.leaving(address), b"")
    writer.put(keys.exit_entry(completion, address), b"")
    context.events.append(Event("exiting", (("completion_height", completion.to_bytes(8, "big")),)))
    return OK


def end_block(writer: Overlay, block: BlockContext) -> None:
    """At an epoch boundary, pending nodes turn active (staking computes the set they join in
    the same end of block) and leaving nodes turn unbonding (that set already leaves them out:
    `ExitNode` retired them); in every block, nodes whose stake staking pays back in this end
    of block turn exited."""
    if read_staking_params(writer).is_epoch_end(block.height):
        for key, _value in list(writer.scan(keys.PENDING)):
            _advance(writer, key, keys.PENDING, Status.PENDING, Status.ACTIVE)
        for key, _value in list(writer.scan(keys.LEAVING)):
            _advance(writer, key, keys.LEAVING, None, Status.UNBONDING)
    prefix = keys.exits_at(block.height)
    for key, _value in list(writer.scan(prefix)):
        address = Address(key[len(prefix) :])
        writer.delete(keys.leaving(address))  # an unbonding delay shorter than the epoch
        _advance(writer, key, prefix, None, Status.EXITED)


def _advance(
    writer: Overlay, key: bytes, table: bytes, before: Status | None, after: Status
) -> None:
    """Move the node a marker of `table` names to `after` and drop the marker (and its pending
    marker, unless it turns active); `before` is the status it must have, if it matters."""
    address = Address(key[len(table) :])
    node = read_node(writer, address)
    if node is None or (before is not None and node.status is not before):
        raise InvariantViolation(f"the marker {key.hex()} names no node in {before}")
    write_node(writer, address, node.with_status(after))
    writer.delete(key)
    if after is not Status.ACTIVE:
        writer.delete(keys.pending(address))


def set_authority(writer: Overlay, address: Address, enabled: bool) -> None:
    """Governance's narrow interface: turn a bank or government node's authority role on or
    off (its credentials then count, or no longer, state/identity). The caller has checked
    that the node exists, is of an authority type and is not already in that state."""
    node = read_node(writer, address)
    if (
        node is None
        or node.node_type not in (NodeType.BANK, NodeType.GOVERNMENT)
        or node.is_authority == enabled
    ):
        raise InvariantViolation(f"set_authority({address}, {enabled}) on a node that forbids it")
    roles = {*node.roles, Role.AUTHORITY} if enabled else set(node.roles) - {Role.AUTHORITY}
    write_node(writer, address, replace(node, roles=tuple(sorted(roles))))


def set_node_key(writer: Overlay, address: Address, public_key: bytes) -> None:
    """The keys module's narrow interface (message 43): the node key its record names from now
    on, the one its peers pin from the next epoch boundary (staking's record changes with it,
    so the two stay one key)."""
    node = read_node(writer, address)
    if node is None:
        raise InvariantViolation(f"set_node_key({address}) on no registered node")
    write_node(writer, address, replace(node, public_key=public_key))
