"""The Proof-of-Execution formula, pure, over exact rationals (no float: state/ forbids it).

    Φ = Σ wᵢ·(uᵢ/sᵢ)   over usage (cpu_ms, memory_mb_s, storage_gb_day, egress_mb, receipts_count)
    Γ = Φ / (1 + Φ)     saturates below 1: more work earns more, with diminishing returns
    NEX = reward · Γ · A, floored to base units

Golden vector (tests/state/test_poe.py, docs/economics.md): usage (1000, 500, 1.0, 10.0, 100)
with the default parameters gives Φ = 37/40 = 0.925, Γ = 37/77 ≈ 0.48052, and
480,519,480,519 base units ≈ 480.52 NEX.

Usage from leaves (`usage_of`): each conversion is a parameter or a fixed unit, written out in
docs/economics.md:
- cpu_ms = fuel_used / fuel_per_cpu_ms (fuel, not wall time: every replica counts the same);
- memory_mb_s = peak_memory_bytes / 10⁶ × cpu_ms / 1000 (the peak held for the call's time);
- storage_gb_day = Σ state_bytes / 10⁹ × (time to the executor's next receipt of the app) /
  one day, the state a call leaves being held until the next call changes it; the last
  receipt's share is counted by the next LogBlock, from the start (time, bytes) it is given;
- egress_mb = output_bytes / 10⁶;
- receipts_count = the number of receipts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from metanode.state import constants
from metanode.state.poe.params import PoeParams
from metanode.types import LogLeaf

_MEGA = 10**6
_GIGA = 10**9


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_ms: Fraction = Fraction(0)
    memory_mb_s: Fraction = Fraction(0)
    storage_gb_day: Fraction = Fraction(0)
    egress_mb: Fraction = Fraction(0)
    receipts_count: Fraction = Fraction(0)


def phi(usage: Usage, params: PoeParams) -> Fraction:
    terms = (
        (params.weight_cpu_bps, usage.cpu_ms, params.scale_cpu_ms),
        (params.weight_memory_bps, usage.memory_mb_s, params.scale_memory_mb_s),
        (params.weight_storage_bps, usage.storage_gb_day, params.scale_storage_gb_day),
        (params.weight_egress_bps, usage.egress_mb, params.scale_egress_mb),
        (params.weight_receipts_bps, usage.receipts_count, params.scale_receipts),
    )
    bps = constants.basis_points
    return sum((Fraction(weight, bps) * used / scale for weight, used, scale in terms), Fraction(0))


def gamma(phi_value: Fraction) -> Fraction:
    return phi_value / (1 + phi_value)


def reward_base_units(usage: Usage, params: PoeParams) -> int:
    """NEX = reward · Γ · A in base units, floored."""
    exact = (
        params.reward_coins
        * constants.base_units_per_coin
        * gamma(phi(usage, params))
        * Fraction(params.adjustment_ppm, _MEGA)
    )
    return exact.numerator // exact.denominator


def usage_of(leaves: Sequence[LogLeaf], start: tuple[int, int] | None, params: PoeParams) -> Usage:
    """One executor's usage over its `leaves` (in call order). `start` is (block_time,
    state_bytes) of its previous notarised receipt of the app, None for its first."""
    cpu_ms = Fraction(sum(leaf.fuel_used for leaf in leaves), params.fuel_per_cpu_ms)
    # Σ (peak / MB) × (fuel / (fuel_per_cpu_ms × 1000)), as one fraction: a Fraction per leaf
    # summed was a tenth of a LogBlock's commit (docs/performance.md, "Apps, w15").
    memory = Fraction(
        sum(leaf.peak_memory_bytes * leaf.fuel_used for leaf in leaves),
        _MEGA * params.fuel_per_cpu_ms * 1000,
    )
    held: list[tuple[int, int]] = [] if start is None else [start]
    held += [(leaf.block_time, leaf.state_bytes) for leaf in leaves]
    byte_ms = sum(
        # Leaves are in call order, so their block times do not go back; max() makes a pair
        # that did (signed by notaries in error) earn nothing rather than a negative amount.
        bytes_ * max(0, later - earlier)
        for (earlier, bytes_), (later, _) in pairwise(held)
    )
    return Usage(
        cpu_ms=cpu_ms,
        memory_mb_s=memory,
        storage_gb_day=Fraction(byte_ms, _GIGA * constants.day_ms),
        egress_mb=Fraction(sum(leaf.output_bytes for leaf in leaves), _MEGA),
        receipts_count=Fraction(len(leaves)),
    )
