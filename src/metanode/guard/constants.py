"""Limits and weights of the guard (`*_max`, units last). Not consensus: a node may tune them."""

from __future__ import annotations

# Features are counted in one-second buckets over a sliding window of `window_s` seconds.
bucket_ms = 1_000
window_s = 10
# Subjects (peers and clients) tracked at once; the quietest unbanned one is forgotten first.
subjects_max = 10_000
# A subject quiet for this long is forgotten (its ban, if any, is kept until it ends).
idle_forget_ms = 120_000

# Rule score in the manner of gossipsub v1.1 (docs/security.md has the table). Counters decay
# by `decay` each second, so an offence weighs less the longer ago it was.
decay = 0.9
# P1: time known, positive and capped, so an attacker cannot bank credit for long.
p1_weight = 0.1
p1_cap_s = 60
# P2: useful deliveries (admitted transactions, new frames), positive and capped.
p2_weight = 0.05
p2_cap = 100
# P4: invalid messages (bad signatures, oversize or malformed frames), squared.
p4_weight = -1.0
# P7: behaviour penalty (requests past the allowance, self-duplicated gossip, nonce spam,
# connection churn, slow requests), squared above a threshold that honest jitter stays under.
p7_weight = -1.0
p7_threshold = 4.0
# The learned model's term: it can throttle on its own, never ban (anomaly_cap * weight stays
# above ban_threshold), so a ban always rests on a counted rule offence.
anomaly_weight = -5.0
anomaly_cap = 10.0
# P5: an operator's allow (docs/security.md "Operator override").
p5_allow = 1_000.0

throttle_threshold = -20.0
ban_threshold = -80.0
assert anomaly_weight * anomaly_cap > ban_threshold
assert anomaly_weight * anomaly_cap < throttle_threshold

# What each offence adds to the P7 counter.
slow_units = 3.0
nonce_allowance_per_s = 2  # an honest wallet races itself now and then
connects_allowance_per_s = 1
errors_allowance_per_s = 5

# Bans: the first lasts ban_base_ms, each further one twice as long up to ban_max_ms; a strike
# is forgiven each strike_decay_ms without a new ban.
ban_base_ms = 30_000
ban_max_ms = 3_600_000
strike_decay_ms = 600_000
# A throttled subject gets this share of its allowance (requests or frames per second).
throttle_share_percent = 10

# A recording (`[guard] record`, guard/record.py) stops growing past this; an observation is
# about 90 bytes, so this holds some 10 million of them, hours of a busy gateway.
record_bytes_max = 1 << 30
