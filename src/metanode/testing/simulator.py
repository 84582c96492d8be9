"""A deterministic simulator that drives real consensus engines through a hostile network.

In the manner of TigerBeetle's VOPR and the Twins method: one seed fixes everything (the
validator count, the faults, every delay); the simulator owns the only random generator and
a simulated clock. Faults: delay and reordering, loss, duplication, partitions that heal,
crashes with restarts from the persisted record, Twins (two engines with one validator's key,
which is how equivocation is modelled) and so equivocating proposers.

Phase one runs with faults and checks safety at every commit: no two honest nodes commit
different blocks at one height, and every certificate verifies. Phase two heals the network
(no loss, no partition, every node up) and demands liveness: every honest node commits at
least `liveness_heights` more heights within `liveness_bound_ms` of simulated time.

Set changes (`Scenario.epoch_blocks` E > 0): as on the chain, the set changes only at the first
height of an epoch (kE + 1), one validator joining or leaving there by a seeded schedule that
is fixed before the height runs (`SetSchedule`). Every node runs an engine, member or not; each
height starts with that height's set, headers commit to the sets of h and h + 1, blocks with
the wrong set hash are invalid, and every certificate is checked against its height's set.
Only honest validators join and leave, and the Twins always stay under a third of the power.

`measure_stall` asks what absent validators cost: f validators are down for the whole run of an
otherwise healthy network, and it counts the rounds and simulated time each height takes.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from metanode.consensus import engine
from metanode.consensus.actions import (
    Broadcast,
    CommitBlock,
    Persist,
    RequestProposal,
    RequestSync,
    ScheduleTimeout,
    ValidateBlock,
)
from metanode.consensus.certificate import verify_certificate
from metanode.consensus.events import (
    BlockSynced,
    BlockValidated,
    Event,
    MessageReceived,
    ProposalCandidateReady,
    StartHeight,
    TimeoutFired,
)
from metanode.consensus.record import Durable
from metanode.consensus.state import Config, EngineState
from metanode.consensus.suite import Suite
from metanode.consensus.validators import Validator, ValidatorSet, quorum, vrf_input
from metanode.errors import ConfigError, VerificationError
from metanode.testing.model_suite import ModelKeys, ModelSuite
from metanode.types import Address, Block, BlockHeader, CommitCertificate
from metanode.types.block import last_certificate_hash

CHAIN_ID = "sim"
ZERO = bytes(32)
TRACE_MAX = 40


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int
    validators: int
    byzantine: int  # validators run as Twins: two engines with one key each
    loss: float
    duplicate: float
    delay_max_ms: int
    partitions: tuple[tuple[int, int, tuple[frozenset[str], ...]], ...]
    crashes: tuple[tuple[str, int, int], ...]
    heal_ms: int
    down: tuple[str, ...] = ()  # validators never started: absent, owed no liveness
    liveness_heights: int = 3
    liveness_bound_ms: int = 60_000
    round_timeout_base_ms: int = 1_000
    epoch_blocks: int = 0  # 0: one set for every height; E: a set change every E heights

    def describe(self) -> str:
        return (
            f"seed={self.seed} validators={self.validators} byzantine={self.byzantine} "
            f"loss={self.loss:.2f} dup={self.duplicate:.2f} delay_max={self.delay_max_ms}ms "
            f"partitions={len(self.partitions)} crashes={len(self.crashes)} heal={self.heal_ms}ms"
            f" down={','.join(self.down) or '-'} epoch={self.epoch_blocks or '-'}"
        )


def generate(
    seed: int, validators: tuple[int, int], byzantine: int | None, set_changes: bool = False
) -> Scenario:
    """A scenario drawn from one seed. `byzantine=None` draws up to the fault threshold.
    `set_changes` draws an epoch length last, so the rest of the scenario is the same."""
    rng = random.Random(seed)
    count = rng.randint(*validators)
    threshold = (count - 1) // 3
    twins = rng.randint(0, threshold) if byzantine is None else byzantine
    names = node_names(count, twins)
    heal = rng.choice([2_000, 5_000, 10_000, 20_000])
    partitions = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        start = rng.randint(0, heal // 2)
        end = rng.randint(start + 500, heal)
        shuffled = names[:]
        rng.shuffle(shuffled)
        if twins and rng.random() < 0.7:
            # The Twins attack: each twin of a pair on a different side, honest power split
            # evenly, so that both sides may reach a quorum if the twins are too many.
            side_a = {n for n in names if n.endswith("a")}
            side_b = {n for n in names if n.endswith("b")}
            power_a = power_b = 0
            honest = [n for n in shuffled if not n.endswith(("a", "b"))]
            for name in honest:
                power = validator_power(int(name[1:]))
                if power_a <= power_b:
                    side_a.add(name)
                    power_a += power
                else:
                    side_b.add(name)
                    power_b += power
        else:
            cut = rng.randint(1, len(shuffled) - 1)
            side_a, side_b = set(shuffled[:cut]), set(shuffled[cut:])
        partitions.append((start, end, (frozenset(side_a), frozenset(side_b))))
    crashes = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        start = rng.randint(0, heal // 2)
        crashes.append((rng.choice(names), start, rng.randint(start + 200, heal)))
    return Scenario(
        seed=seed,
        validators=count,
        byzantine=twins,
        loss=rng.choice([0.0, 0.0, 0.05, 0.2]),
        duplicate=rng.choice([0.0, 0.05, 0.2]),
        delay_max_ms=rng.choice([5, 50, 300, 1_500]),
        partitions=tuple(partitions),
        crashes=tuple(crashes),
        heal_ms=heal,
        epoch_blocks=rng.choice(EPOCH_CHOICES) if set_changes else 0,
    )


EPOCH_CHOICES = (1, 2, 3, 5)


class SetSchedule:
    """The validator set of every height: all validators but one reserve at first (so the
    first change can be a join), then at each epoch's first height one honest validator joins
    or leaves, drawn from the scenario's seed. A leave must keep the Twins under a third of
    the set's power and the set at least `members_min`; else a validator joins (or none
    changes). Epochs are drawn in order and kept, so the set of a height never changes once
    drawn, whoever asks first."""

    members_min = 3

    def __init__(self, scenario: Scenario, validators: list[Validator]) -> None:
        self.epoch_blocks = scenario.epoch_blocks
        self.validators = validators
        self.twins = scenario.byzantine
        self.rng = random.Random(f"sets/{scenario.seed}")
        first = frozenset(range(len(validators)))
        reserve = len(validators) - 1  # honest unless all are Twins (they are the first)
        if self.epoch_blocks and reserve >= self.twins and self.may_leave(first - {reserve}):
            first -= {reserve}
        self.epochs: list[frozenset[int]] = [first]
        self.sets: dict[frozenset[int], ValidatorSet] = {}

    def at(self, height: int) -> ValidatorSet:
        epoch = 0 if not self.epoch_blocks else (max(height, 1) - 1) // self.epoch_blocks
        while len(self.epochs) <= epoch:
            self.epochs.append(self.next_members(self.epochs[-1]))
        members = self.epochs[epoch]
        if members not in self.sets:
            self.sets[members] = ValidatorSet.of([self.validators[i] for i in sorted(members)])
        return self.sets[members]

    def next_members(self, members: frozenset[int]) -> frozenset[int]:
        honest = range(self.twins, len(self.validators))
        leavers = [i for i in honest if i in members and self.may_leave(members - {i})]
        joiners = [i for i in honest if i not in members]
        if leavers and (not joiners or self.rng.random() < 0.5):
            return members - {self.rng.choice(leavers)}
        if joiners:
            return members | {self.rng.choice(joiners)}
        return members

    def may_leave(self, members: frozenset[int]) -> bool:
        total = sum(validator_power(i) for i in members)
        twins = sum(validator_power(i) for i in members if i < self.twins)
        return len(members) >= self.members_min and 3 * twins < total


def validator_power(index: int) -> int:
    """Unequal stakes (1, 2, 3, 1, 2, 3, …) so that quorums are counted by power, not heads."""
    return 1 + index % 3


def node_names(count: int, twins: int) -> list[str]:
    """v0…: the first `twins` validators run twice, as `vNa` and `vNb`."""
    names = []
    for index in range(count):
        names.extend([f"v{index}a", f"v{index}b"] if index < twins else [f"v{index}"])
    return names


@dataclass(slots=True)
class SimNode:
    name: str
    validator_index: int
    honest: bool
    suite: Suite
    state: EngineState
    chain: list[tuple[Block, CommitCertificate]] = field(default_factory=list)
    record: Durable | None = None
    alive: bool = True
    epoch: int = 0  # timers from before a crash are void

    @property
    def address(self) -> Address:
        assert self.state.me is not None
        return self.state.me


@dataclass(slots=True)
class Outcome:
    scenario: Scenario
    safety_violations: list[str]
    liveness_failure: str | None
    heights: int
    trace: list[str]
    # Per height, in order: the round it was decided in and when it was first committed.
    decided_rounds: list[int] = field(default_factory=list)
    decided_ms: list[int] = field(default_factory=list)


SuiteFactory = Callable[[str], tuple[Suite, bytes, bytes, bytes]]


class Simulation:
    """One scenario. `suite_for(validator_name)` returns (suite, ed key, bls key, vrf key)."""

    def __init__(self, scenario: Scenario, suite_for: SuiteFactory, observer: Suite) -> None:
        self.scenario = scenario
        self.rng = random.Random(scenario.seed * 7919 + 1)
        self.observer = observer
        self.now = 0
        self.queue: list[tuple[int, int, str, Any]] = []
        self.sequence = 0
        self.trace: list[str] = []
        self.violations: list[str] = []
        self.decided: dict[int, bytes] = {}
        self.decided_rounds: list[int] = []
        self.decided_ms: list[int] = []
        self.config = Config(CHAIN_ID, scenario.round_timeout_base_ms)
        keys = {}
        validators = []
        for index in range(scenario.validators):
            suite, ed_key, bls_key, vrf_key = suite_for(f"v{index}")
            address = Address.from_public_key(ed_key)
            keys[index] = (suite, address)
            validators.append(Validator(address, validator_power(index), ed_key, bls_key, vrf_key))
        self.sets = SetSchedule(scenario, validators)
        # The chain's first VRF seed, from the scenario's seed: the proposers of every height
        # follow from it, so a fixed one would give every scenario the same proposer sequence.
        self.seed0 = random.Random(f"chain-seed/{scenario.seed}").randbytes(32)
        self.nodes: dict[str, SimNode] = {}
        for name in node_names(scenario.validators, scenario.byzantine):
            index = int(name[1:].rstrip("ab"))
            suite, address = keys[index]
            state = engine.new_state(self.config, suite, address, 1, self.sets.at(1), self.seed0)
            self.nodes[name] = SimNode(name, index, not name.endswith(("a", "b")), suite, state)
        for name in scenario.down:
            self.nodes[name].alive = False

    # --- the event queue ------------------------------------------------------------------

    def at(self, when: int, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (when, self.sequence, kind, payload))

    def note(self, text: str) -> None:
        self.trace.append(f"t={self.now} {text}")
        if len(self.trace) > 4 * TRACE_MAX:
            del self.trace[: 2 * TRACE_MAX]

    def run(self) -> Outcome:
        for name in sorted(self.nodes):
            if self.nodes[name].alive:
                self.deliver(self.nodes[name], StartHeight(1, self.sets.at(1), self.seed0))
        for name, start, end in self.scenario.crashes:
            self.at(start, "crash", name)
            self.at(end, "restart", name)
        for name in sorted(self.nodes):
            self.at(1_500, "status", name)
        heal = self.scenario.heal_ms
        deadline = heal + self.scenario.liveness_bound_ms
        heights_at_heal: dict[str, int] = {}
        while self.queue:
            when, _, kind, payload = heapq.heappop(self.queue)
            if when > deadline:
                break
            if when >= heal and not heights_at_heal:
                heights_at_heal = {n: len(node.chain) for n, node in self.nodes.items()}
                self.note("network healed")
            self.now = when
            self.handle(kind, payload)
            if heights_at_heal and self.all_live(heights_at_heal):
                break
        if not heights_at_heal:
            heights_at_heal = {n: len(node.chain) for n, node in self.nodes.items()}
        return Outcome(
            self.scenario,
            self.violations,
            self.liveness_failure(heights_at_heal),
            max(len(node.chain) for node in self.nodes.values()),
            self.trace[-TRACE_MAX:],
            self.decided_rounds,
            self.decided_ms,
        )

    def owed_liveness(self, node: SimNode) -> bool:
        return node.honest and node.name not in self.scenario.down

    def all_live(self, heights_at_heal: dict[str, int]) -> bool:
        target = self.scenario.liveness_heights
        return all(
            len(node.chain) >= heights_at_heal[name] + target
            for name, node in self.nodes.items()
            if self.owed_liveness(node)
        )

    def liveness_failure(self, heights_at_heal: dict[str, int]) -> str | None:
        if self.all_live(heights_at_heal):
            return None
        behind = [
            f"{name}:{heights_at_heal[name]}->{len(node.chain)}"
            for name, node in sorted(self.nodes.items())
            if self.owed_liveness(node)
        ]
        return "honest nodes short of the liveness target: " + " ".join(behind)

    def handle(self, kind: str, payload: Any) -> None:
        if kind == "deliver":
            name, message = payload
            node = self.nodes[name]
            if node.alive:
                self.deliver(node, MessageReceived(message))
        elif kind == "event":
            name, epoch, event = payload
            node = self.nodes[name]
            if node.alive and node.epoch == epoch:
                self.deliver(node, event)
        elif kind == "crash":
            node = self.nodes[payload]
            node.alive = False
            node.epoch += 1
            self.note(f"{payload} crashed at height {len(node.chain) + 1}")
        elif kind == "restart":
            self.restart(self.nodes[payload])
        elif kind == "status":
            self.status_exchange(self.nodes[payload])

    # --- one node ---------------------------------------------------------------------------

    def deliver(self, node: SimNode, event: Event) -> None:
        node.state, actions = engine.step(node.state, event)
        for action in actions:
            self.carry_out(node, action)

    def later(self, node: SimNode, delay: int, event: Event) -> None:
        self.at(self.now + delay, "event", (node.name, node.epoch, event))

    def carry_out(self, node: SimNode, action: object) -> None:
        if isinstance(action, Persist):
            node.record = action.record  # durable before anything that follows is sent
        elif isinstance(action, Broadcast):
            self.broadcast(node, action.message)
        elif isinstance(action, ScheduleTimeout):
            self.later(node, action.delay_ms, TimeoutFired(action.height, action.round))
        elif isinstance(action, RequestProposal):
            block = self.build_block(node, action.height, action.round, action.evidence)
            self.later(node, 1, ProposalCandidateReady(action.height, action.round, block))
        elif isinstance(action, ValidateBlock):
            valid = self.is_valid(node, action.block)
            self.later(node, 1, BlockValidated(action.height, action.block.hash(), valid))
        elif isinstance(action, CommitBlock):
            self.commit(node, action.block, action.certificate)
        elif isinstance(action, RequestSync):
            self.sync(node)

    def build_block(self, node: SimNode, height: int, round_: int, evidence: tuple) -> Block:
        previous = node.chain[-1][0] if node.chain else None
        last_certificate = node.chain[-1][1] if node.chain else None
        twin_offset = 1 if node.name.endswith("b") else 0  # twins build different blocks
        header = BlockHeader(
            chain_id=CHAIN_ID,
            height=height,
            round=round_,
            timestamp_ms=self.now + twin_offset,
            previous_hash=previous.hash() if previous else ZERO,
            txs_root=ZERO,
            state_root=ZERO,
            receipts_root=ZERO,
            validator_set_hash=self.sets.at(height).hash(),
            next_validator_set_hash=self.sets.at(height + 1).hash(),
            proposer=node.address,
            vrf_proof=node.suite.vrf_prove(vrf_input(node.state.seed, height)),
            last_certificate_hash=last_certificate_hash(last_certificate),
        )
        return Block(header, (), tuple(evidence), last_certificate)

    def is_valid(self, node: SimNode, block: Block) -> bool:
        previous = node.chain[-1][0] if node.chain else None
        expected = previous.hash() if previous else ZERO
        header = block.header
        return (
            header.previous_hash == expected
            and header.validator_set_hash == self.sets.at(header.height).hash()
            and header.next_validator_set_hash == self.sets.at(header.height + 1).hash()
            and header.last_certificate_hash == last_certificate_hash(block.last_certificate)
            and self.last_certificate_is_valid(previous, block.last_certificate)
        )

    def last_certificate_is_valid(
        self, previous: Block | None, certificate: CommitCertificate | None
    ) -> bool:
        """As a node's edge and state machine check it: none after genesis, else a quorum of
        the previous height's set certified the previous block."""
        if previous is None or certificate is None:
            return previous is None and certificate is None
        height = previous.header.height
        if certificate.height != height:
            return False
        try:
            verify_certificate(certificate, previous.hash(), self.sets.at(height), self.observer)
        except VerificationError:
            return False
        return True

    def commit(self, node: SimNode, block: Block, certificate: CommitCertificate) -> None:
        height = block.header.height
        if height != len(node.chain) + 1:
            self.violations.append(f"{node.name} committed height {height} out of order")
            return
        try:
            verify_certificate(certificate, block.hash(), self.sets.at(height), self.observer)
        except VerificationError as error:
            self.violations.append(f"{node.name} h={height}: certificate fails: {error}")
        node.chain.append((block, certificate))
        if node.honest:
            if height not in self.decided:
                self.decided_rounds.append(certificate.round)
                self.decided_ms.append(self.now)
            first = self.decided.setdefault(height, block.hash())
            if first != block.hash():
                self.violations.append(
                    f"SAFETY: {node.name} committed {block.hash().hex()[:12]} at height {height}, "
                    f"another honest node committed {first.hex()[:12]}"
                )
        self.note(f"{node.name} committed h={height} r={certificate.round}")
        seed = node.suite.vrf_output(block.header.vrf_proof)[:32]
        self.deliver(node, StartHeight(height + 1, self.sets.at(height + 1), seed))
        # As a node does (`Node._commit` ends in `_maybe_sync`): a node behind asks for the next
        # block as soon as it has committed one, not only at its next status exchange. Syncing
        # one block per 1.5 s status left a validator that a set change made necessary for the
        # quorum 50 heights behind past the liveness bound (seed 1001686 with set changes).
        self.sync(node)

    def restart(self, node: SimNode) -> None:
        node.alive = True
        node.epoch += 1
        height = len(node.chain) + 1
        seed = (
            node.suite.vrf_output(node.chain[-1][0].header.vrf_proof)[:32]
            if node.chain
            else (self.seed0)
        )
        if node.record is not None and node.record.height == height:
            node.state, actions = engine.restore(
                self.config, node.suite, node.address, node.record, self.sets.at(height), seed
            )
            self.note(f"{node.name} restarted from its record at h={height} r={node.record.round}")
            for action in actions:
                self.carry_out(node, action)
        else:
            node.state = engine.new_state(
                self.config, node.suite, node.address, height, self.sets.at(height), seed
            )
            self.note(f"{node.name} restarted fresh at h={height}")
            self.deliver(node, StartHeight(height, self.sets.at(height), seed))

    def sync(self, node: SimNode) -> None:
        """Block sync: any reachable live peer ahead of us sends the next block and certificate."""
        height = len(node.chain) + 1
        for name in sorted(self.nodes):
            peer = self.nodes[name]
            if peer is node or not peer.alive or not self.connected(node.name, name):
                continue
            if len(peer.chain) >= height:
                block, certificate = peer.chain[height - 1]
                self.later(node, self.delay(), BlockSynced(block, certificate))
                return

    def status_exchange(self, node: SimNode) -> None:
        if node.alive:
            self.sync(node)
        self.at(self.now + 1_500, "status", node.name)

    # --- the network ------------------------------------------------------------------------

    def faulty(self) -> bool:
        return self.now < self.scenario.heal_ms

    def connected(self, source: str, target: str) -> bool:
        if not self.faulty():
            return True
        for start, end, sides in self.scenario.partitions:
            if start <= self.now < end and not any(
                source in side and target in side for side in sides
            ):
                return False
        return True

    def delay(self) -> int:
        limit = self.scenario.delay_max_ms if self.faulty() else min(self.scenario.delay_max_ms, 50)
        return 1 + self.rng.randint(0, limit)

    def broadcast(self, node: SimNode, message: object) -> None:
        for name in sorted(self.nodes):
            if name == node.name:
                continue
            if not self.connected(node.name, name):
                continue
            if self.faulty() and self.rng.random() < self.scenario.loss:
                continue
            copies = 2 if self.faulty() and self.rng.random() < self.scenario.duplicate else 1
            for _ in range(copies):
                self.at(self.now + self.delay(), "deliver", (name, message))


def model_suites(name: str) -> tuple[Suite, bytes, bytes, bytes]:
    keys = ModelKeys.for_name(name)
    return ModelSuite(keys), keys.public_key, keys.bls_public_key, keys.vrf_public_key


@dataclass(slots=True)
class Summary:
    scenarios: int = 0
    safety_violations: int = 0
    liveness_failures: int = 0
    heights: int = 0
    failures: list[Outcome] = field(default_factory=list)


def run_many(
    count: int,
    seed: int,
    validators: tuple[int, int] = (4, 10),
    byzantine: int | None = None,
    suite_for: SuiteFactory | None = None,
    observer: Suite | None = None,
    set_changes: bool = False,
    on_scenario: Callable[[], None] | None = None,
) -> Summary:
    """Scenario i uses seed `seed * 1_000_003 + i`, so any one can be rerun alone;
    `on_scenario` is told each one done (the CLI's progress bar)."""
    summary = Summary()
    for index in range(count):
        scenario = generate(seed * 1_000_003 + index, validators, byzantine, set_changes)
        outcome = Simulation(
            scenario, suite_for or model_suites, observer or ModelSuite(None)
        ).run()
        summary.scenarios += 1
        summary.heights += outcome.heights
        if outcome.safety_violations:
            summary.safety_violations += 1
        # Liveness is owed only within the fault threshold; beyond it only safety is checked
        # (and is expected to fail: that shows the checker can fail).
        within_threshold = 3 * scenario.byzantine < scenario.validators
        if outcome.liveness_failure and within_threshold:
            summary.liveness_failures += 1
        if outcome.safety_violations or outcome.liveness_failure:
            summary.failures.append(outcome)
        if on_scenario is not None:
            on_scenario()
    return summary


def stall_scenario(seed: int, validators: tuple[int, int], down: int, heights: int) -> Scenario:
    """A healthy network (no loss, no partition, delays up to 50 ms) with `down` validators
    absent throughout, drawn from the sets that leave a quorum of power up (the stakes are
    unequal, so not every set of `down` validators does)."""
    rng = random.Random(seed)
    count = rng.randint(*validators)
    powers = [validator_power(index) for index in range(count)]
    absent_sets = [
        chosen
        for chosen in combinations(range(count), down)
        if sum(powers) - sum(powers[index] for index in chosen) >= quorum(sum(powers))
    ]
    if not absent_sets:
        raise ConfigError(
            f"no {down} of {count} validators (stakes 1, 2, 3, 1, …) can be down and leave a "
            "quorum up: choose fewer down or more validators"
        )
    return Scenario(
        seed=seed,
        validators=count,
        byzantine=0,
        loss=0.0,
        duplicate=0.0,
        delay_max_ms=50,
        partitions=(),
        crashes=(),
        heal_ms=0,
        down=tuple(f"v{index}" for index in rng.choice(absent_sets)),
        liveness_heights=heights,
        # Ten simulated minutes a height: eight rounds in a row at a dead proposer fit (511 s).
        liveness_bound_ms=heights * 600_000,
    )


@dataclass(slots=True)
class Stall:
    """What absent validators cost, over the first `heights` heights of each scenario."""

    scenarios: int = 0
    heights: int = 0
    rounds: int = 0  # rounds taken in all, a height decided in round r taking r + 1
    rounds_max: int = 0  # the most rounds any one height took
    simulated_ms: int = 0
    failures: list[Outcome] = field(default_factory=list)

    @property
    def rounds_per_height(self) -> float:
        return self.rounds / max(self.heights, 1)

    @property
    def ms_per_height(self) -> float:
        return self.simulated_ms / max(self.heights, 1)


def measure_stall(
    count: int,
    seed: int,
    validators: tuple[int, int],
    down: int,
    heights: int = 20,
    on_scenario: Callable[[], None] | None = None,
) -> Stall:
    """Scenario i uses seed `seed * 1_000_003 + i`, as `run_many` does."""
    stall = Stall()
    for index in range(count):
        scenario = stall_scenario(seed * 1_000_003 + index, validators, down, heights)
        outcome = Simulation(scenario, model_suites, ModelSuite(None)).run()
        stall.scenarios += 1
        if on_scenario is not None:
            on_scenario()
        if outcome.safety_violations or outcome.liveness_failure:
            stall.failures.append(outcome)
            continue
        rounds = outcome.decided_rounds[:heights]
        stall.heights += len(rounds)
        stall.rounds += sum(rounds) + len(rounds)
        stall.rounds_max = max(stall.rounds_max, max(rounds) + 1)
        stall.simulated_ms += outcome.decided_ms[heights - 1]
    return stall
