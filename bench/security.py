"""The guard measured on recorded normal traffic and on a live network under attack.

    python bench/security.py [--trace PATH | --synthetic] [--live] [--seconds N] [--rate R]
                             [--validators V] [--attackers-each K] [--seed S] [--keep DIR]
                             [--record]

`--record` first records the model's training rows anew (guard/normal_rows.json).

Replay (the default): the normal traffic is a recording (guard/record.py) made by a real
`metanode bench --record-trace` run: PATH with `--trace`, else one this bench makes first (V
validators, N seconds of transfers at R a second). Each validator's recorded view is mixed with
the six attacks the issue names, generated (traces.attacks: a request flood, invalid-signature
spam, oversize frames, nonce spam, a slow-loris client, a peer gossiping duplicates), and
replayed into guards set up as that validator's were, scored by the rules and the model.
`--synthetic` replays traces.normal's generated traffic instead; the line says which. Prints,
last, `precision=… recall=… false_bans=… honest_served_ratio=… normal=recorded|synthetic`:
precision and recall of "throttled or banned at some point" over the attackers, the normal
subjects banned, and the honest requests the guard serves under attack over those it serves
without it.

`--live`: two runs of `metanode bench` on V validator processes with honest load paced at R
transfers a second, first alone (recorded: the replay above runs on it too), then with the
attackers of `metanode.cli.attack` against every gateway and the peer links. Precision, recall
and false bans are the live guards' own verdicts on the attackers' and the honest subjects (a
subject any validator throttled or banned, from the attacked run's recordings), and
`honest_tps_ratio` the committed TPS of the attacked run over the clean one's; recall is over
the attackers some validator observed (`attackers_seen`). The bench's TPS is over its measured
window, which a load started late by the attack fills by catching up, so the line also gives
`honest_committed_ratio`: the honest transfers committed by the end of each run, attacked over
clean. Last line `precision=… recall=… false_bans=… honest_tps_ratio=… tps_clean=…
tps_attacked=… honest_committed_ratio=… attackers_seen=K/N`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from metanode.guard import record, traces
from metanode.guard.score import Guard, Verdict


def bench_run(options: argparse.Namespace, out: Path, *, attack: bool) -> dict[str, Any]:
    """One `metanode bench` run recording its guards into out/trace.jsonl; its report."""
    command = [
        sys.executable,
        "-m",
        "metanode.cli.main",
        "bench",
        "--validators",
        str(options.validators),
        "--duration",
        str(options.seconds),
        "--rate",
        str(options.rate),
        "--accounts",
        str(options.accounts),
        "--record-trace",
        str(out / "trace.jsonl"),
        "--out",
        str(out),
        "--json",
        *(["--attack"] if attack else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"metanode bench failed ({done.returncode}):\n{done.stderr[-3_000:]}")
    return json.loads(done.stdout)


def replay(
    options: argparse.Namespace, sections: list[record.Section] | None
) -> tuple[str, float, float, int, float]:
    """(what the normal traffic was, precision, recall, false bans, honest served ratio)."""
    models = traces.models()
    if sections is None:
        normal = traces.normal(options.seed, options.seconds * 1000)
        duration_ms = options.seconds * 1000
    else:
        normal = [item for section in sections for item in section.observations]
        duration_ms = max(section.duration_ms for section in sections)
    attacks = traces.attacks(options.seed + 1, duration_ms, options.attackers_each)
    honest = {item[1] for item in normal}
    attackers = {item[1] for item in attacks}
    started = time.perf_counter()
    if sections is None:
        mixed = sorted(normal + attacks, key=lambda item: item[:3])
        outcome = traces.replay(
            mixed, Guard(traces.CLIENTS, models[0]), Guard(traces.PEERS, models[1])
        )
        baseline = traces.replay(
            normal, Guard(traces.CLIENTS, models[0]), Guard(traces.PEERS, models[1])
        )
    else:
        outcome = traces.replay_recorded(sections, attacks, models)
        baseline = traces.replay_recorded(sections, [], models)
    replay_s = time.perf_counter() - started
    for name in sorted(attackers - outcome.detected):
        print(f"missed {name}")
    for name in sorted(outcome.detected & honest):
        print(f"flagged normal {name}")
    print(
        f"replay: {len(honest)} normal subjects, {len(attackers)} attackers; "
        f"{len(normal) + len(attacks)} observations replayed in {replay_s:.1f} s"
    )
    caught = len(outcome.detected & attackers)
    flagged = len(outcome.detected & (honest | attackers))
    served = outcome.honest_served(honest) / max(1, baseline.honest_served(honest))
    kind = "synthetic" if sections is None else "recorded"
    return (
        kind,
        caught / max(1, flagged),
        caught / len(attackers),
        len(outcome.banned & honest),
        served,
    )


def live_verdicts(
    sections: list[record.Section], attackers: set[str]
) -> tuple[float, float, int, set[str], set[str]]:
    """(precision, recall, false bans, honest subjects, attackers seen) of the live guards' own
    verdicts. Recall is over the attackers some validator observed: one that never got through
    (a rogue peer whose link handshakes timed out, say) is named and left out."""
    seen: dict[str, set[str]] = {}
    for section in sections:
        for subject, outcomes in section.outcomes.items():
            seen.setdefault(subject, set()).update(outcomes)
    honest = set(seen) - attackers
    reached = attackers & set(seen)
    detected = {subject for subject, outcomes in seen.items() if outcomes - {Verdict.PASS.value}}
    banned = {subject for subject, outcomes in seen.items() if Verdict.BAN.value in outcomes}
    for name in sorted(attackers - reached):
        print(f"live: never observed {name}")
    for name in sorted(reached - detected):
        print(f"live: missed {name}")
    for name in sorted(detected & honest):
        print(f"live: flagged honest {name}")
    caught = len(detected & attackers)
    recall = caught / len(reached) if reached else 0.0
    return caught / max(1, len(detected)), recall, len(banned & honest), honest, reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, help="a recording to replay (guard/record.py)")
    parser.add_argument("--synthetic", action="store_true", help="replay generated traffic")
    parser.add_argument("--live", action="store_true", help="a live network under attack")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--attackers-each", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the runs' reports and recordings here")
    parser.add_argument("--record", action="store_true", help="record the model's rows anew")
    options = parser.parse_args()
    if options.record:
        traces.record()
    if options.synthetic and (options.trace or options.live):
        parser.error("--synthetic replays generated traffic: no --trace, no --live")
    work = options.keep or Path(tempfile.mkdtemp(prefix="metanode-security-"))
    sections = None
    if options.trace is not None:
        sections = record.load(options.trace)
    elif not options.synthetic:
        clean = bench_run(options, work / "clean", attack=False)
        sections = record.load(work / "clean" / "trace.jsonl")
    kind, precision, recall, false_bans, served = replay(options, sections)
    replayed = (
        f"precision={precision:.3f} recall={recall:.3f} false_bans={false_bans} "
        f"honest_served_ratio={served:.3f} normal={kind}"
    )
    if not options.live:
        print(replayed)
        return
    print(f"replay: {replayed}")
    if options.trace is not None:
        clean = bench_run(options, work / "clean", attack=False)
    attacked = bench_run(options, work / "attacked", attack=True)
    attackers = set(attacked["guard"]["attackers"])
    precision, recall, false_bans, honest, reached = live_verdicts(
        record.load(work / "attacked" / "trace.jsonl"), attackers
    )
    print(
        f"live: {len(honest)} honest subjects, {len(attackers)} attackers; attackers' answers "
        f"{json.dumps(attacked['guard']['attack_answers'], sort_keys=True)}"
    )
    committed = attacked["committed_total"] / max(1, clean["committed_total"])
    for name, run in (("clean", clean), ("attacked", attacked)):
        print(
            f"live {name}: tps={run['tps']:.1f} p50_ms={run['p50_ms']:.0f} "
            f"p99_ms={run['p99_ms']:.0f} committed={run['committed_total']} "
            f"accepted_in_window={run['accepted_in_window']}"
        )
    print(
        f"precision={precision:.3f} recall={recall:.3f} false_bans={false_bans} "
        f"honest_tps_ratio={attacked['tps'] / max(1e-9, clean['tps']):.3f} "
        f"tps_clean={clean['tps']:.1f} tps_attacked={attacked['tps']:.1f} "
        f"honest_committed_ratio={committed:.3f} attackers_seen={len(reached)}/{len(attackers)}"
    )


if __name__ == "__main__":
    main()
