"""registry: light-client attack evidence (types/light_attack.py) slashes the validators it
proves to have signed a conflicting header, classified as CometBFT's light client does.

Rules (an item of a block's evidence list, `LightAttackItem`; `on_block_evidence` tells it
from an equivocation pair, which `rules.on_pair_evidence` runs):
- The conflicting header's certificate must commit that header, on this chain, at its height H,
  with `common_height < H < block height`.
- Lunatic attack: the header names a validator set or a next set that the chain did not have
  at H / H + 1 (fields that cannot be derived from the trusted state). Its signer bitmap is
  read against the set the header names, which must be the chain's set at H or at the common
  height (the evidence carries no set: a made-up one cannot be read, `light_attack_set_unknown`).
  The certificate needs a quorum of that set and more than 1/3 of the common set's power (the
  light client's default trust level); the attackers are its signers who were in the common
  set. The evidence ages from the common height.
- Equivocation: the header names the chain's sets. The item carries the certificate the
  chain committed at H; both need a quorum of the set at H, commit different blocks in the
  same round (two rounds are amnesia, not punished), and the attackers are the validators who
  signed both: each signed two blocks at one height. The evidence ages from H.
- Each attacker not already jailed for good loses `slash_fraction_bps` and is jailed for good,
  as under equivocation evidence (`rules.punish`). The conflict is spent once, whatever common
  height or committed certificate carried it: its key is (H, the conflicting header's hash).
A bitmap is read only against a set from staking's history, so every check is chain data. The
ladder writes nothing until the last rung passes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from metanode.codec import encode, tags
from metanode.crypto import bls
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError, KeyFormatError, VerificationError
from metanode.state.codes import OK
from metanode.state.context import BlockContext
from metanode.state.genesis.chain import read_chain
from metanode.state.registry import errors, keys
from metanode.state.registry.records import read_params
from metanode.state.registry.rules import on_pair_evidence, punish
from metanode.state.staking import queries as staking_queries
from metanode.state.staking import rules as staking
from metanode.state.staking.records import SetMember, encode_set, set_hash, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, CommitCertificate
from metanode.types.block import commit_seal_message
from metanode.types.light_attack import LightAttackItem


def on_block_evidence(writer: Overlay, block: BlockContext, item: bytes) -> int:
    """One item of the block's evidence list: light-client attack evidence, else a pair."""
    try:
        attack = LightAttackItem.decode(item)
    except DecodeError:
        return on_pair_evidence(writer, block, item)
    return apply_light_attack(writer, block, attack)


def conflict_hash(item: LightAttackItem) -> bytes:
    """The key the conflict is spent under: one per signed conflicting header."""
    header = item.evidence.conflicting_header
    return tagged_hash(tags.LIGHT_ATTACK, encode([header.height, header.hash()]))


class Kind(enum.Enum):
    EQUIVOCATION = "equivocation"
    LUNATIC = "lunatic"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    attackers: tuple[Address, ...]  # sorted
    aged_from: int  # the height the evidence's age counts from


def examine(reader: StateReader, chain_id: str, item: LightAttackItem) -> Finding | int:
    """What the evidence proves, or the code of why it proves nothing: the checks that need no
    block, shared by block processing and the gateway's answer. Pairings last."""
    evidence = item.evidence
    header, certificate = evidence.conflicting_header, evidence.conflicting_certificate
    height = header.height
    if not 1 <= evidence.common_height < height:
        return errors.LIGHT_ATTACK_HEIGHTS_INVALID
    if (
        header.chain_id != chain_id
        or certificate.height != height
        or certificate.block_hash != header.hash()
    ):
        return errors.LIGHT_ATTACK_CERTIFICATE_INVALID
    real = staking_queries.validator_set_at(reader, height)
    common = staking_queries.validator_set_at(reader, evidence.common_height)
    following = staking_queries.validator_set_at(reader, height + 1)
    if real is None or common is None or following is None:
        return errors.EVIDENCE_FROM_FUTURE
    if (header.validator_set_hash, header.next_validator_set_hash) == (
        _hash(real),
        _hash(following),
    ):
        return _equivocation(item, real)
    named = {_hash(real): real, _hash(common): common}.get(header.validator_set_hash)
    if named is None:
        return errors.LIGHT_ATTACK_SET_UNKNOWN
    signers = _signers(certificate, named)
    if signers is None:
        return errors.LIGHT_ATTACK_CERTIFICATE_INVALID
    in_common = {member.address: member.power for member in common}
    if sum(in_common.get(s.address, 0) for s in signers) * 3 <= sum(in_common.values()):
        return errors.LIGHT_ATTACK_CERTIFICATE_INVALID
    guilty = sorted(signer.address for signer in signers if signer.address in in_common)
    return Finding(Kind.LUNATIC, tuple(guilty), evidence.common_height)


def _equivocation(item: LightAttackItem, real: tuple[SetMember, ...]) -> Finding | int:
    conflicting, committed = item.evidence.conflicting_certificate, item.committed
    if committed is None or committed.height != conflicting.height:
        return errors.LIGHT_ATTACK_NOT_A_CONFLICT
    if committed.block_hash == conflicting.block_hash:
        return errors.LIGHT_ATTACK_NOT_A_CONFLICT
    if committed.round != conflicting.round:
        return errors.LIGHT_ATTACK_AMNESIA
    first, second = _signers(committed, real), _signers(conflicting, real)
    if first is None or second is None:
        return errors.LIGHT_ATTACK_CERTIFICATE_INVALID
    both = {signer.address for signer in first} & {signer.address for signer in second}
    return Finding(Kind.EQUIVOCATION, tuple(sorted(both)), conflicting.height)


def _hash(members: tuple[SetMember, ...]) -> bytes:
    return set_hash(encode_set(members))


def _signers(
    certificate: CommitCertificate, members: tuple[SetMember, ...]
) -> Sequence[SetMember] | None:
    """The members whose seals the certificate aggregates, or None unless they hold a quorum
    of `members` and the aggregate verifies."""
    if len(certificate.signer_bitmap) != (len(members) + 7) // 8:
        return None
    indexes = certificate.signer_indexes()
    if any(index >= len(members) for index in indexes):
        return None
    signers = [members[index] for index in indexes]
    total = sum(member.power for member in members)
    if sum(signer.power for signer in signers) * 3 < total * 2:
        return None  # below consensus's quorum, ceil(2/3) of the power
    message = commit_seal_message(certificate.height, certificate.round, certificate.block_hash)
    try:
        bls.fast_aggregate_verify(
            [signer.bls_public_key for signer in signers],
            message,
            certificate.aggregate_signature,
        )
    except (VerificationError, KeyFormatError):
        return None
    return signers


def apply_light_attack(writer: Overlay, block: BlockContext, item: LightAttackItem) -> int:
    if item.evidence.conflicting_header.height >= block.height:
        return errors.EVIDENCE_FROM_FUTURE
    digest = conflict_hash(item)
    if writer.get(keys.evidence(digest)) is not None:
        return errors.EVIDENCE_ALREADY_USED
    finding = examine(writer, block.chain.chain_id, item)
    if isinstance(finding, int):
        return finding
    params = read_params(writer)
    if finding.aged_from + params.evidence_age_blocks_max < block.height:
        return errors.EVIDENCE_TOO_OLD
    punishable = [a for a in finding.attackers if not _jailed_for_good(writer, a)]
    if not punishable:
        return errors.LIGHT_ATTACK_NO_ATTACKER
    for address in punishable:
        punish(writer, block, address, params.slash_fraction_bps)
        writer.delete(keys.downtime_jail(address))  # jailed for missed commits: now for good
    write_uint(writer, keys.evidence(digest), block.height)
    return OK


def screen(reader: StateReader, next_height: int, item: LightAttackItem) -> int:
    """The code a block of `next_height` carrying `item` would get, the state left unchanged:
    what a node answers before it queues the item for its next proposal."""
    return screened(
        reader, next_height, lambda writer, block: apply_light_attack(writer, block, item)
    )


def screened(
    reader: StateReader, next_height: int, rule: Callable[[Overlay, BlockContext], int]
) -> int:
    """What an evidence `rule` answers in a block of `next_height`, on a throwaway overlay."""
    block = BlockContext(read_chain(reader), next_height, 0, Address(bytes(20)))
    return rule(Overlay(reader), block)


def _jailed_for_good(reader: StateReader, address: Address) -> bool:
    return staking.is_jailed(reader, address) and reader.get(keys.downtime_jail(address)) is None
