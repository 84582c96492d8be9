"""registry: omission evidence (types/omission.py) counts a proposer's proven censorship, and
`inclusion_omissions_to_slash` omissions within `inclusion_obligation_blocks` heights slash it
(docs/inclusion.md "Punishment on chain" gives the reasons for each rung).

Rules (an item of a block's evidence list; `on_block_evidence` tells it from the others):
- The omitting block B at height H < this block's height, within `evidence_age_blocks_max`:
  of this chain, its transactions are its header's (`txs_root`), and its proposer, a member of
  the set at H, signed a proposal of it (a PROPOSAL record of H for B's hash). The header
  names who built B: a proposer that re-proposes a block another built and validators
  prepared in an earlier round must do so by QBFT, and that proves nothing against it.
  Whether B was committed does not matter: signing the proposal is the offence.
- The transaction T: of this chain, not expired at H, at the fee floor, signed by its sender;
  neither T nor any transaction of T's sender is in B (a transaction of the sender may have
  replaced T or spent what it needed: then leaving T out proves nothing); B had room for T by
  the chain's bounds (fewer than `block_txs_max` transactions, its transactions' bytes and
  T's within `block_bytes_max`).
- The lists: each of this chain and of height H (so made after H - 1 committed, against the
  state B was built on), naming T, each by a different member of the set at H, together more
  than a third of its power, so at least one honest validator held T ready (its nonce the
  sender's next, its fee payable) on top of H - 1. With no transaction of the sender in B,
  nothing of B could make T unready.
- The omission (proposer, H) is recorded once. When the proposer's omissions not yet used by a
  slash reach `inclusion_omissions_to_slash` within a span of `inclusion_obligation_blocks`
  heights that holds H, they are used: the proposer loses `slash_fraction_bps` and is jailed
  (`rules.punish`, the path equivocation takes) until `downtime_jail_blocks` have passed, when
  `Unjail` frees it, as after missed commits: a proposer that never received T (a partition)
  looks the same on chain as one that censored it, so the jail is not for good.
The ladder writes nothing until the last rung passes.
"""

from __future__ import annotations

from metanode.crypto import ed25519, merkle
from metanode.errors import DecodeError, KeyFormatError, VerificationError
from metanode.state.auth.messages import check_envelope
from metanode.state.auth.params import read_params as read_auth_params
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.codes import OK
from metanode.state.context import BlockContext
from metanode.state.registry import errors, keys
from metanode.state.registry.light_attack import on_block_evidence as on_other_evidence
from metanode.state.registry.light_attack import screened
from metanode.state.registry.records import RegistryParams, read_params
from metanode.state.registry.rules import punish
from metanode.state.staking import queries as staking_queries
from metanode.state.staking import rules as staking
from metanode.state.staking.records import SetMember, read_uint, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants
from metanode.types.omission import OmissionItem
from metanode.types.vote import Kind

# A byte string's CBOR head is at most this long: a transaction's room in a block.
_bytes_head_max = 9
# A record's value (never 0, which `write_uint` deletes: the record must stay, so the same
# omission is never counted twice).
_COUNTING = 1
_USED = 2


def on_block_evidence(writer: Overlay, block: BlockContext, item: bytes) -> int:
    """One item of the block's evidence list: omission evidence, else the other kinds."""
    if not OmissionItem.claims(item):
        return on_other_evidence(writer, block, item)
    try:
        omission = OmissionItem.decode(item)
    except DecodeError:
        return errors.OMISSION_MALFORMED
    return apply_omission(writer, block, omission)


def apply_omission(writer: Overlay, block: BlockContext, item: OmissionItem) -> int:
    header = item.block.header
    height, proposer = header.height, header.proposer
    if height >= block.height:
        return errors.EVIDENCE_FROM_FUTURE
    params = read_params(writer)
    if height + params.evidence_age_blocks_max < block.height:
        return errors.EVIDENCE_TOO_OLD
    if writer.get(keys.omission(proposer, height)) is not None:
        return errors.OMISSION_ALREADY_COUNTED
    if staking.is_jailed(writer, proposer):
        return errors.OMISSION_PROPOSER_JAILED
    members = staking_queries.validator_set_at(writer, height)
    if members is None:
        return errors.EVIDENCE_FROM_FUTURE
    code = _examine(writer, block.chain.chain_id, item, members)
    if code != OK:
        return code
    write_uint(writer, keys.omission(proposer, height), _COUNTING)
    counting = _counting(writer, proposer)
    if _repeated(params, counting, height):
        for counted in counting:
            write_uint(writer, keys.omission(proposer, counted), _USED)
        punish(writer, block, proposer, params.slash_fraction_bps)
        write_uint(writer, keys.downtime_jail(proposer), block.height + params.downtime_jail_blocks)
    return OK


def screen(reader: StateReader, next_height: int, item: OmissionItem) -> int:
    """The code a block of `next_height` carrying `item` would get, the state left unchanged:
    what a node checks before it queues the item for its next proposal."""
    return screened(reader, next_height, lambda writer, block: apply_omission(writer, block, item))


def _examine(
    reader: StateReader, chain_id: str, item: OmissionItem, members: tuple[SetMember, ...]
) -> int:
    """The rungs that read the evidence itself: cheap ones first, signatures last."""
    header, tx, txs, proposal = item.block.header, item.tx, item.block.txs, item.proposal
    by_address = {member.address: member for member in members}
    if (
        header.chain_id != chain_id
        or header.proposer not in by_address
        or header.txs_root != merkle.root_from_leaf_hashes([t.hash() for t in txs])
        or proposal.kind is not Kind.PROPOSAL
        or (proposal.height, proposal.digest) != (header.height, header.hash())
        or proposal.signer != header.proposer
    ):
        return errors.OMISSION_BLOCK_INVALID
    fee_min = read_auth_params(reader).fee_min
    if check_envelope(tx, chain_id, header.height, fee_min) != OK:
        return errors.OMISSION_TX_INVALID
    sender = tx.sender_address
    if any(t.sender_address == sender for t in txs):
        return errors.OMISSION_TX_INCLUDED  # T itself, or one that may have replaced it
    # Transaction bytes only, as the node's own judge counts (mempool/inclusion.py): the
    # header does not commit to B's evidence list, so its size proves nothing.
    used = sum(len(t.encode()) + _bytes_head_max for t in txs) + len(tx.encode())
    if len(txs) >= types_constants.block_txs_max or used > types_constants.block_bytes_max:
        return errors.OMISSION_BLOCK_FULL
    tx_hash = tx.hash()
    signers: set[Address] = set()
    for listed in item.lists:
        signer = listed.validator
        if (
            listed.chain_id != chain_id
            or listed.height != header.height
            or tx_hash not in listed.tx_hashes
            or signer not in by_address
            or signer in signers
        ):
            return errors.OMISSION_LISTS_INVALID
        signers.add(signer)
    power = sum(by_address[signer].power for signer in signers)
    if power * 3 <= sum(member.power for member in members):
        return errors.OMISSION_LISTS_TOO_WEAK
    if not verify_tx_signature(tx):
        return errors.OMISSION_TX_INVALID
    for listed in item.lists:
        try:
            listed.verify()
        except (VerificationError, KeyFormatError):
            return errors.OMISSION_LISTS_INVALID
    # The key of the height's set, not staking's record: the proposer may have rotated since.
    if not ed25519.is_valid(
        by_address[proposal.signer].public_key, proposal.signing_message(), proposal.signature
    ):
        return errors.OMISSION_BLOCK_INVALID
    return OK


def _counting(reader: StateReader, proposer: Address) -> list[int]:
    """The heights of the proposer's omissions no slash has used yet, ascending (key order)."""
    prefix = keys.omissions_of(proposer)
    return [
        int.from_bytes(key[len(prefix) :], "big")
        for key, _value in reader.scan(prefix)
        if read_uint(reader, key) == _COUNTING
    ]


def _repeated(params: RegistryParams, heights: list[int], height: int) -> bool:
    """Whether some span of `inclusion_obligation_blocks` heights holding `height` holds
    `inclusion_omissions_to_slash` of `heights`."""
    span = params.inclusion_obligation_blocks
    for start in heights:
        if start <= height < start + span:
            inside = sum(1 for other in heights if start <= other < start + span)
            if inside >= params.inclusion_omissions_to_slash:
                return True
    return False
