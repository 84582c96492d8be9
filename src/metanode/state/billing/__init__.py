"""billing: when a LogBlock commits, each call of its range settles from its escrow by the fuel
its replicas used (`apps.settle_call`), and the epoch's statements per app and per executor
record what was settled, charged, paid and minted."""
