"""The engine's state for one height. Owned by `step`: it is updated in place and returned;
a caller keeps only the returned object (the simulator restarts a node from `Durable`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.types import Address, Block

from . import constants
from .messages import Kind, Message, ProposalMessage, RoundChangeMessage, Signed
from .record import Durable
from .suite import Suite
from .validators import ValidatorSet


@dataclass(frozen=True, slots=True)
class Config:
    chain_id: str
    round_timeout_base_ms: int = constants.round_timeout_base_ms
    # The longest a round-0 proposer waits for transactions before proposing (the node's
    # `empty_block_delay_ms`): round 0's timeout covers that wait as well, as Besu's request
    # timeout covers its block period.
    proposal_wait_ms: int = 0


@dataclass(slots=True)
class EngineState:
    config: Config
    suite: Suite
    me: Address | None
    height: int
    validators: ValidatorSet
    seed: bytes
    round: int = 0
    started: bool = False
    decided: bool = False
    # What this node prepared: the highest round with a prepare quorum it saw, and the proof.
    prepared_round: int | None = None
    prepared_block: Block | None = None
    prepared_certificate: tuple[Signed, ...] = ()
    # Every message this node signed at this height, by (kind, round): never sign a second.
    sent: dict[tuple[Kind, int], Signed] = field(default_factory=dict)
    # Accepted proposal per round; votes and round changes by round, then signer.
    proposals: dict[int, ProposalMessage] = field(default_factory=dict)
    prepares: dict[int, dict[Address, Signed]] = field(default_factory=dict)
    commits: dict[int, dict[Address, Signed]] = field(default_factory=dict)
    round_changes: dict[int, dict[Address, RoundChangeMessage]] = field(default_factory=dict)
    blocks: dict[bytes, Block] = field(default_factory=dict)
    valid: set[bytes] = field(default_factory=set)
    invalid: set[bytes] = field(default_factory=set)
    requested_proposal: set[int] = field(default_factory=set)
    # First message seen per (signer, kind, height, round), for equivocation evidence.
    seen: dict[tuple[Address, Kind, int, int], Signed] = field(default_factory=dict)
    verified: set[bytes] = field(default_factory=set)
    evidence: dict[bytes, None] = field(default_factory=dict)  # ordered set of encodings
    future: list[Message] = field(default_factory=list)
    future_signers: set[Address] = field(default_factory=set)
    sync_requested: bool = False
    # This node's write-ahead record from a height above this one: its store went back (a
    # re-sync or a snapshot restore after a failed check) while the record did not, so it may
    # have signed anything at the heights up to the record's. It signs nothing until it
    # reaches that height, and there takes up what the record says it signed.
    ahead: Durable | None = None

    @property
    def is_validator(self) -> bool:
        """This node signs at this height: it is in the set and has never signed above it."""
        return (
            self.me is not None and self.ahead is None and self.validators.get(self.me) is not None
        )

    def proposer_address(self, round_: int) -> Address:
        return self.validators.proposer(self.seed, self.height, round_).address

    def timeout_ms(self, round_: int) -> int:
        timeout = self.config.round_timeout_base_ms << min(round_, constants.round_exponent_max)
        return timeout + self.config.proposal_wait_ms if round_ == 0 else timeout

    def authentic(self, signed: Signed) -> bool:
        """Signed by a member of this height's set; each signature is checked once."""
        validator = self.validators.get(signed.signer)
        if validator is None:
            return False
        key = signed.signing_message() + signed.signature
        if key in self.verified:
            return True
        if not self.suite.verify(validator.public_key, signed.signing_message(), signed.signature):
            return False
        self.verified.add(key)
        return True
