"""Hosts on one machine: a Linux network namespace per validator, each with a veth link to one
bridge in the root namespace, and the faults a network between hosts shows (docs/testnet.md).

Validator i is 10.231.T.(i+1) in its namespace `mnT-vi`; the bridge `mnbrT` is 10.231.T.254,
so the root namespace (the checker, the operator) reaches every gateway. A partition is a set
of blackhole routes inside the namespaces, one per address a host must not reach: the bridge
and the gateways stay reachable, only validator-to-validator traffic is cut. Latency, jitter
and loss shape what a host sends on its link: with `tc netem` where the kernel has it; on a
kernel without sch_netem, loss is an iptables `statistic` drop rule and latency an NFQUEUE
rule whose packets `metanode.testnet.delay` holds for their drawn delay
(docs/decisions/testnet-shaping.md). Everything is iproute2 and iptables (root only); with
neither netem nor iptables, shaping raises `ShapingUnavailable` and the fault schedule leaves
those faults out and says so.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from metanode.errors import ConfigError, MetanodeError

log = logging.getLogger("metanode.testnet")
SUBNET_PREFIX = "10.231"
BRIDGE_HOST = 254
# Interface names are at most 15 bytes: "mnbr" + tag, "mn" + tag + "h" + index.
TAG_MAX = 999
HOSTS_MAX = 64
NETEM, IPTABLES, NONE = "netem", "iptables", "none"  # how links are shaped
QUEUE = 0  # the NFQUEUE number: queues are per namespace, so every host uses the same
STOP_S = 10.0


class FabricError(MetanodeError):
    """An `ip` or `tc` command that failed; the message quotes it and what it printed."""


class ShapingUnavailable(FabricError):
    """Neither netem nor iptables with NFQUEUE here: latency and loss cannot be shaped."""


class NetemUnavailable(ShapingUnavailable):
    """The kernel has no netem queueing discipline."""


def run_ip(*argv: str) -> str:
    """Run one iproute2 command (`ip …` or `tc …`) and return what it printed."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        message = f"`{' '.join(argv)}` failed: {done.stderr.strip() or done.stdout.strip()}"
        if "qdisc kind is unknown" in done.stderr:
            raise NetemUnavailable(
                f"{message}; this kernel has no sch_netem (load the module, or use a kernel "
                "built with it; else install iptables: tools/install-native.sh)"
            )
        raise FabricError(message)
    return done.stdout


@dataclass
class Fabric:
    """`hosts` namespaces on the bridge of `tag` (0..999: several fabrics side by side)."""

    tag: int
    hosts: int
    logs: Path = Path(tempfile.gettempdir())  # where delayers write their logs
    cut: set[tuple[int, int]] = field(default_factory=set)  # (from, to) blackholed
    # How links are shaped, chosen by `choose_shaping` once the hosts exist.
    shaping: str = NONE
    delayers: dict[int, subprocess.Popen[str]] = field(default_factory=dict)

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
        for index in sorted(self.delayers):
            self._stop_delayer(index)
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

    def choose_shaping(self) -> str:
        """netem if this kernel has it, else iptables (statistic drop, NFQUEUE to a delayer)
        if it is installed and works here, else none; tried on host 0, then undone."""
        try:
            self._netem(0, 1, 0, 0)
            self.shaping = NETEM
        except NetemUnavailable as netem:
            try:
                self._iptables(0, "-A", *self._drop_rule(1))
                self._iptables(0, "-F", "OUTPUT")
                self.shaping = IPTABLES
            except (FabricError, OSError) as iptables:
                log.warning("no shaping", extra={"netem": str(netem), "iptables": str(iptables)})
                self.shaping = NONE
        self.unshape(0)
        log.info("shaping", extra={"shaping": self.shaping})
        return self.shaping

    def shape(
        self, index: int, delay_ms: int, jitter_ms: int, loss_percent: int, seed: int
    ) -> None:
        """Delay (with jitter, drawn from `seed` for the delayer) and drop what host `index`
        sends."""
        if self.shaping == NETEM:
            self._netem(index, delay_ms, jitter_ms, loss_percent)
        elif self.shaping == IPTABLES:
            if loss_percent:
                self._iptables(index, "-A", *self._drop_rule(loss_percent))
            if delay_ms:
                self._delay(index, delay_ms, jitter_ms, seed)
        else:
            raise ShapingUnavailable(
                "links cannot be shaped here: no netem in this kernel and no working iptables "
                "(tools/install-native.sh installs it)"
            )
        log.info("shaped", extra={"host": index, "delay_ms": delay_ms, "jitter_ms": jitter_ms,
                                  "loss_percent": loss_percent, "by": self.shaping})  # fmt: skip

    def unshape(self, index: int) -> None:
        if self.shaping == IPTABLES:
            self._iptables(index, "-F", "OUTPUT")
        self._stop_delayer(index)
        subprocess.run(
            self.inside(index, ["tc", "qdisc", "del", "dev", "eth0", "root"]),
            capture_output=True,
            check=False,  # nothing shaped: nothing to delete
        )

    def _stop_delayer(self, index: int) -> None:
        delayer = self.delayers.pop(index, None)
        if delayer is not None:
            delayer.terminate()  # it lets what it holds go first
            try:
                delayer.wait(STOP_S)
            except subprocess.TimeoutExpired:
                delayer.kill()
                delayer.wait()

    def _netem(self, index: int, delay_ms: int, jitter_ms: int, loss_percent: int) -> None:
        netem = ["delay", f"{delay_ms}ms", f"{jitter_ms}ms", "loss", f"{loss_percent}%"]
        run_ip(
            *self.inside(index, ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *netem])
        )

    def _iptables(self, index: int, *rule: str) -> None:
        run_ip(*self.inside(index, ["iptables", "-w", *rule]))

    @staticmethod
    def _drop_rule(loss_percent: int) -> tuple[str, ...]:
        probability = f"{loss_percent / 100:.2f}"
        return ("OUTPUT", "-o", "eth0", "-m", "statistic", "--mode", "random",
                "--probability", probability, "-j", "DROP")  # fmt: skip

    def _delay(self, index: int, delay_ms: int, jitter_ms: int, seed: int) -> None:
        """A delayer bound to the queue of host `index`, then every packet it sends queued."""
        argv = [sys.executable, "-m", "metanode.testnet.delay", "--delay-ms", str(delay_ms),
                "--jitter-ms", str(jitter_ms), "--seed", str(seed),
                "--log-dir", str(self.logs)]  # fmt: skip
        delayer = subprocess.Popen(
            self.inside(index, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.delayers[index] = delayer
        assert delayer.stdout is not None
        if delayer.stdout.readline().strip() != "bound":
            raise FabricError(
                f"the delayer of host {index} did not start (exit {delayer.wait()}); "
                f"its log: {self.logs / 'delay.log'}"
            )
        self._iptables(index, "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE",
                       "--queue-num", str(QUEUE), "--queue-bypass")  # fmt: skip
