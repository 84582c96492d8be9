"""A hand-driven four-validator committee on the signature model: build messages from any
validator, feed them to one engine, read the actions."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.consensus import engine
from metanode.consensus.actions import Action
from metanode.consensus.events import Event, StartHeight
from metanode.consensus.messages import (
    Kind,
    ProposalMessage,
    RoundChangeMessage,
    Signed,
    commit_seal_message,
)
from metanode.consensus.state import Config, EngineState
from metanode.consensus.validators import Validator, ValidatorSet, vrf_input
from metanode.testing.model_suite import ModelKeys, ModelSuite
from metanode.types import Address, Block, BlockHeader

CHAIN = "test-chain"
SEED = bytes(32)
ZERO = bytes(32)


@dataclass
class Member:
    name: str
    suite: ModelSuite
    validator: Validator

    @property
    def address(self) -> Address:
        return self.validator.address


class Committee:
    def __init__(self, size: int = 4, height: int = 1) -> None:
        self.members: list[Member] = []
        for index in range(size):
            keys = ModelKeys.for_name(f"m{index}")
            address = Address.from_public_key(keys.public_key)
            validator = Validator(
                address, 1, keys.public_key, keys.bls_public_key, keys.vrf_public_key
            )
            self.members.append(Member(f"m{index}", ModelSuite(keys), validator))
        self.validators = ValidatorSet.of([member.validator for member in self.members])
        self.members.sort(key=lambda member: member.address)
        self.height = height
        self.config = Config(CHAIN, 1_000)

    def proposer(self, round_: int) -> Member:
        address = self.validators.proposer(SEED, self.height, round_).address
        return next(member for member in self.members if member.address == address)

    def other_than(self, *excluded: Member) -> list[Member]:
        return [member for member in self.members if member not in excluded]

    def engine_for(self, member: Member | None) -> tuple[EngineState, list[Action]]:
        state = engine.new_state(
            self.config,
            member.suite if member else ModelSuite(None),
            member.address if member else None,
            self.height,
            self.validators,
            SEED,
        )
        return engine.step(state, StartHeight(self.height, self.validators, SEED))

    def block(self, creator: Member, round_: int = 0, stamp: int = 1) -> Block:
        header = BlockHeader(
            CHAIN,
            self.height,
            round_,
            stamp,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            self.validators.hash(),
            self.validators.hash(),
            creator.address,
            creator.suite.vrf_prove(vrf_input(SEED, self.height)),
            ZERO,
        )
        return Block(header, ())

    def signed(
        self,
        member: Member,
        kind: Kind,
        round_: int,
        digest: bytes = ZERO,
        prepared_round: int | None = None,
        height: int | None = None,
    ) -> Signed:
        height = self.height if height is None else height
        seal = b""
        if kind is Kind.COMMIT:
            seal = member.suite.seal(commit_seal_message(height, round_, digest))
        unsigned = Signed(kind, height, round_, digest, prepared_round, seal, member.address)
        return Signed(
            kind,
            height,
            round_,
            digest,
            prepared_round,
            seal,
            member.address,
            member.suite.sign(unsigned.signing_message()),
        )

    def proposal(
        self,
        member: Member,
        block: Block,
        round_: int = 0,
        round_changes: tuple[Signed, ...] = (),
        prepares: tuple[Signed, ...] = (),
    ) -> ProposalMessage:
        signed = self.signed(member, Kind.PROPOSAL, round_, block.hash())
        return ProposalMessage(signed, block, round_changes, prepares)

    def round_change(
        self,
        member: Member,
        round_: int,
        prepared: Block | None = None,
        prepared_round: int | None = None,
        prepares: tuple[Signed, ...] = (),
    ) -> RoundChangeMessage:
        digest = prepared.hash() if prepared else b""
        signed = self.signed(member, Kind.ROUND_CHANGE, round_, digest, prepared_round)
        return RoundChangeMessage(signed, prepared, prepares)


def feed(state: EngineState, *events: Event) -> tuple[EngineState, list[Action]]:
    actions: list[Action] = []
    for event in events:
        state, more = engine.step(state, event)
        actions.extend(more)
    return state, actions


def of_type(actions: list[Action], kind: type) -> list:
    return [action for action in actions if isinstance(action, kind)]
