"""The replayed-traffic measure of the guard, small: normal traffic (generated, and recorded by
a real bench run) mixed with the six attacks, scored by the fitted models and the rules
(bench/security.py runs it longer)."""

from __future__ import annotations

from pathlib import Path

from metanode.guard import record, traces
from metanode.guard.score import Guard


def test_attackers_are_caught_and_no_normal_client_is_banned() -> None:
    client_model, peer_model = traces.models()
    normal = traces.normal(seed=1, duration_ms=30_000, wallets=20)
    attacks = traces.attacks(seed=2, duration_ms=30_000)
    mixed = sorted(normal + attacks, key=lambda item: (item[0], item[1], item[2]))
    honest = {item[1] for item in normal}
    attackers = {item[1] for item in attacks}
    outcome = traces.replay(
        mixed, Guard(traces.CLIENTS, client_model), Guard(traces.PEERS, peer_model)
    )
    baseline = traces.replay(
        normal, Guard(traces.CLIENTS, client_model), Guard(traces.PEERS, peer_model)
    )
    assert len(attackers) == len(traces.ATTACKS)
    assert outcome.detected >= attackers
    assert outcome.banned & honest == set()
    assert outcome.detected & honest == set()
    assert outcome.honest_served(honest) >= 0.8 * baseline.honest_served(honest)


# A recording of a real `metanode bench --validators 2 --duration 8 --rate 40 --accounts 40
# --record-trace` run: both validators' views of the two load clients, the bench's reads from
# loopback (allowed) and each other.
RECORDED = Path(__file__).with_name("data") / "bench-2v.jsonl"


def test_recorded_bench_traffic_mixed_with_the_attacks_flags_every_attacker_and_no_normal_one() -> (
    None
):
    sections = record.load(RECORDED)
    models = traces.models()
    attacks = traces.attacks(seed=2, duration_ms=max(s.duration_ms for s in sections))
    outcome = traces.replay_recorded(sections, attacks, models)
    baseline = traces.replay_recorded(sections, [], models)
    honest = {subject for section in sections for subject in section.outcomes}
    attackers = {item[1] for item in attacks}
    assert {"client:127.0.0.2", "client:127.0.0.3"} <= honest
    assert outcome.detected >= attackers
    assert outcome.detected & honest == set()
    assert outcome.banned & honest == set()
    assert outcome.honest_served(honest) == baseline.honest_served(honest) > 0
