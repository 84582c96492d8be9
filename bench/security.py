"""The guard measured on replayed traffic: normal clients and peers (traces.normal) mixed with
the six attacks the issue names (a request flood, invalid-signature spam, oversize frames,
nonce spam, a slow-loris client, a peer gossiping duplicates), scored by the rules and the
model fitted on the recorded normal rows.

    python bench/security.py [--seconds N] [--attackers-each K] [--seed S] [--record]

`--record` first records the model's training rows anew (src/metanode/guard/normal_rows.json).
Prints, as its last line, `precision=… recall=… false_bans=… honest_tps_ratio=…`:
precision and recall of "throttled or banned at some point" over the attackers, the normal
subjects banned, and the honest requests served under attack over those served by the same
normal traffic without it. The ratio is of requests the guard lets through in the replay, not
of transactions committed by a running network (docs/security.md "Measured").
"""

from __future__ import annotations

import argparse
import time

from metanode.guard import traces
from metanode.guard.score import Guard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--attackers-each", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true")
    options = parser.parse_args()
    if options.record:
        traces.record()
    duration_ms = options.seconds * 1000
    client_model, peer_model = traces.models()
    normal = traces.normal(options.seed, duration_ms)
    attacks = traces.attacks(options.seed + 1, duration_ms, options.attackers_each)
    mixed = sorted(normal + attacks, key=lambda item: (item[0], item[1], item[2]))
    honest = {item[1] for item in normal}
    attackers = {item[1] for item in attacks}
    started = time.perf_counter()
    outcome = traces.replay(
        mixed, Guard(traces.CLIENTS, client_model), Guard(traces.PEERS, peer_model)
    )
    replay_s = time.perf_counter() - started
    baseline = traces.replay(
        normal, Guard(traces.CLIENTS, client_model), Guard(traces.PEERS, peer_model)
    )
    caught = len(outcome.detected & attackers)
    flagged = len(outcome.detected & (honest | attackers))
    for name in sorted(attackers - outcome.detected):
        print(f"missed {name}")
    for name in sorted(outcome.detected & honest):
        print(f"flagged normal {name}")
    print(
        f"subjects: {len(honest)} normal, {len(attackers)} attackers; "
        f"{len(mixed)} observations replayed in {replay_s:.1f} s"
    )
    ratio = outcome.honest_served(honest) / max(1, baseline.honest_served(honest))
    print(
        f"precision={caught / max(1, flagged):.3f} recall={caught / len(attackers):.3f} "
        f"false_bans={len(outcome.banned & honest)} honest_tps_ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    main()
