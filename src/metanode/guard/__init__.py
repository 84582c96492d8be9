"""Anomaly scoring of peers and clients, and the throttles and bans it decides (docs/security.md).

Nothing here is read by consensus or the state machine: a score only slows or refuses a peer's
frames and a client's requests at the edge.
"""
