"""Hosts on one machine: a Linux network namespace per validator, each with a veth link to one
bridge in the root namespace, and the faults a network between hosts shows (docs/testnet.md).

Validator i is 10.231.T.(i+1) in its namespace `mnT-vi`; the bridge `mnbrT` is 10.231.T.254,
so the root namespace (the checker, the operator) reaches every gateway. A partition is a set
of blackhole routes inside the namespaces, one per address a host must not reach: the bridge
and the gateways stay reachable, only validator-to-validator traffic is cut. Latency, jitter
and loss are `tc netem` on the namespace's side of its link. Everything is the `ip` and `tc`
of iproute2 (root only); a kernel without the netem scheduler (sch_netem) refuses shaping with
`NetemUnavailable`, and the fault schedule leaves those faults out and says so.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from metanode.errors import ConfigError, MetanodeError

log = logging.getLogger("metanode.testnet")
SUBNET_PREFIX = "10.231"
BRIDGE_HOST = 254
# Interface names are at most 15 bytes: "mnbr" + tag, "mn" + tag + "h" + index.
TAG_MAX = 999
HOSTS_MAX = 64


class FabricError(MetanodeError):
    """An `ip` or `tc` command that failed; the message quotes it and what it printed."""


class NetemUnavailable(FabricError):
    """The kernel has no netem queueing discipline: latency and loss cannot be shaped here."""


def run_ip(*argv: str) -> str:
    """Run one iproute2 command (`ip …` or `tc …`) and return what it printed."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        message = f"`{' '.join(argv)}` failed: {done.stderr.strip() or done.stdout.strip()}"
        if "qdisc kind is unknown" in done.stderr:
            raise NetemUnavailable(
                f"{message}; this kernel has no sch_netem, so latency and loss faults "
                "cannot run here (load the module, or use a kernel built with it)"
            )
        raise FabricError(message)
    return done.stdout


@dataclass
class Fabric:
    """`hosts` namespaces on the bridge of `tag` (0..999: several fabrics side by side)."""

    tag: int
    hosts: int
    cut: set[tuple[int, int]] = field(default_factory=set)  # (from, to) blackholed

    def __post_init__(self) -> None:
        if os.geteuid() != 0:
            raise ConfigError("--netns makes network namespaces: run it as root")
        if not 0 <= self.tag <= TAG_MAX:
            raise ConfigError(f"fabric tag {self.tag} must be within 0..{TAG_MAX}")
        if not 1 <= self.hosts <= HOSTS_MAX:
            raise ConfigError(f"--validators {self.hosts} must be within 1..{HOSTS_MAX}")

    @property
    def bridge(self) -> str:
        return f"mnbr{self.tag}"

    def namespace(self, index: int) -> str:
        return f"mn{self.tag}-v{index}"

    def address(self, index: int) -> str:
        return f"{SUBNET_PREFIX}.{self.tag % 256}.{index + 1}"

    @property
    def gateway_address(self) -> str:
        return f"{SUBNET_PREFIX}.{self.tag % 256}.{BRIDGE_HOST}"

    def create(self) -> None:
        """The bridge, then each namespace with its link; a leftover of the same tag (a run
        killed before it cleaned up) is removed first."""
        self.destroy()
        run_ip("ip", "link", "add", self.bridge, "type", "bridge")
        run_ip("ip", "addr", "add", f"{self.gateway_address}/24", "dev", self.bridge)
        run_ip("ip", "link", "set", self.bridge, "up")
        for index in range(self.hosts):
            namespace, outside = self.namespace(index), f"mn{self.tag}h{index}"
            run_ip("ip", "netns", "add", namespace)
            run_ip("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0",
                   "netns", namespace)  # fmt: skip
            run_ip("ip", "link", "set", outside, "master", self.bridge, "up")
            inside = ("ip", "netns", "exec", namespace)
            run_ip(*inside, "ip", "addr", "add", f"{self.address(index)}/24", "dev", "eth0")
            run_ip(*inside, "ip", "link", "set", "eth0", "up")
            run_ip(*inside, "ip", "link", "set", "lo", "up")
        log.info("fabric up", extra={"bridge": self.bridge, "hosts": self.hosts})

    def destroy(self) -> None:
        """Remove the namespaces (their veth ends go with them) and the bridge, if present."""
        present = run_ip("ip", "netns", "list")
        for index in range(self.hosts):
            if self.namespace(index) in present.split():
                run_ip("ip", "netns", "del", self.namespace(index))
        shown = subprocess.run(
            ["ip", "link", "show", self.bridge], capture_output=True, check=False
        )
        if shown.returncode == 0:
            run_ip("ip", "link", "del", self.bridge)
        self.cut.clear()

    def inside(self, index: int, argv: Sequence[str]) -> list[str]:
        """`argv` run in host `index`'s namespace."""
        return ["ip", "netns", "exec", self.namespace(index), *argv]

    # faults ----------------------------------------------------------------------------------

    def partition(self, groups: Sequence[Sequence[int]]) -> None:
        """Cut every link between hosts of different groups (a host in no group keeps all)."""
        where = {host: number for number, group in enumerate(groups) for host in group}
        for a, side in where.items():
            for b, other in where.items():
                if side != other and (a, b) not in self.cut:
                    self._route("add", a, b)
        log.info("partition", extra={"groups": [list(group) for group in groups]})

    def cut_link(self, a: int, b: int) -> None:
        """Cut a and b apart (both directions), leaving their other links."""
        for pair in ((a, b), (b, a)):
            if pair not in self.cut:
                self._route("add", *pair)

    def heal(self) -> None:
        """Every cut link back, every shaped link plain."""
        for pair in sorted(self.cut):
            self._route("del", *pair)
        for index in range(self.hosts):
            self.unshape(index)
        log.info("healed", extra={"hosts": self.hosts})

    def _route(self, verb: str, a: int, b: int) -> None:
        run_ip(*self.inside(a, ["ip", "route", verb, "blackhole", f"{self.address(b)}/32"]))
        if verb == "add":
            self.cut.add((a, b))
        else:
            self.cut.discard((a, b))

    def shape(self, index: int, delay_ms: int, jitter_ms: int, loss_percent: int) -> None:
        """Delay (with jitter) and drop what host `index` sends."""
        netem = ["delay", f"{delay_ms}ms", f"{jitter_ms}ms", "loss", f"{loss_percent}%"]
        run_ip(
            *self.inside(index, ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *netem])
        )

    def unshape(self, index: int) -> None:
        subprocess.run(
            self.inside(index, ["tc", "qdisc", "del", "dev", "eth0", "root"]),
            capture_output=True,
            check=False,  # nothing shaped: nothing to delete
        )

    def netem_available(self) -> bool:
        """Whether this kernel shapes links (tried on host 0, then undone)."""
        try:
            self.shape(0, 1, 0, 0)
        except NetemUnavailable:
            return False
        self.unshape(0)
        return True
