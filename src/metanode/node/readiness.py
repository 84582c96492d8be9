"""Whether a node is alive and whether it is ready to serve: the answers of `GET /health` and
`GET /ready` (api/app.py), of the `metanode_node_ready*` gauges, and of `bpci server status`.

Ready means all four checks pass, each named so that a probe's log says which one failed:
- `running`: the engine has started and the node is not stopping or halted;
- `synced`: the node's committed height is at most `[server] ready_lag_blocks_max` below the
  best height its peers announce (their STATUS frames);
- `store`: the stored tip is the block its certified header names: the tip's state root and
  block hash in the store's metadata are the header's state root and the block's hash (a
  store changed under the node, or a write torn outside LMDB's transaction, shows here; the
  whole check is `metanode store check`, run by the supervisor before each start);
- `peers`: at least `[server] ready_peers_min` peers are connected.

The checks are a pure function of figures the node reads; nothing here touches the node.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKS = ("running", "synced", "store", "peers")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Figures:
    """What the checks read: `stopped` says why the node is not running (None: it is), and
    `store_problem` what is wrong with the store's tip (None: nothing)."""

    stopped: str | None
    height: int
    best_height: int
    peers: int
    store_problem: str | None
    lag_blocks_max: int
    peers_min: int

    @property
    def lag(self) -> int:
        return max(0, self.best_height - self.height)


@dataclass(frozen=True, slots=True)
class Readiness:
    figures: Figures
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def as_json(self) -> dict[str, object]:
        figures = self.figures
        return {
            "ready": self.ready,
            "height": figures.height,
            "best_height": figures.best_height,
            "lag": figures.lag,
            "peers": figures.peers,
            "checks": {one.name: {"ok": one.ok, "detail": one.detail} for one in self.checks},
            "failing": [f"{check.name}: {check.detail}" for check in self.failing],
        }


def assess(figures: Figures) -> Readiness:
    lag = figures.lag
    checks = (
        Check("running", figures.stopped is None, figures.stopped or "consensus is running"),
        Check(
            "synced",
            lag <= figures.lag_blocks_max,
            f"{lag} blocks behind the best height peers announce ({figures.best_height}); "
            f"ready_lag_blocks_max is {figures.lag_blocks_max}",
        ),
        Check(
            "store",
            figures.store_problem is None,
            figures.store_problem or f"the tip {figures.height} is the block its header names",
        ),
        Check(
            "peers",
            figures.peers >= figures.peers_min,
            f"{figures.peers} peers connected; ready_peers_min is {figures.peers_min}",
        ),
    )
    return Readiness(figures, checks)
