"""The replayed-traffic measure of the guard, small: normal traffic mixed with the six attacks,
scored by the fitted models and the rules (bench/security.py runs it longer)."""

from __future__ import annotations

from metanode.guard import traces
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
