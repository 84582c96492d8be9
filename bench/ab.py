"""Alternate `metanode bench` runs between two revisions of the code, on one hour.

This VM's speed drifts by ±30% within an hour (docs/performance.md), so one run of each side
says little; runs that alternate (base, change, base, change, …) share the drift. Each side is
a git revision checked out into a temporary worktree (or `.`, the working tree as it is), and
every run is the same `metanode bench` command with PYTHONPATH at that side's `src`, which the
validator and load processes inherit. A worktree of a revision that has the compiled core
(`rust/`) gets that revision's own build of it, as `uv sync` makes it for a checkout (`cargo
build --release --locked` into the working tree's `rust/target`, the module copied into the
worktree's `src/metanode`): another revision's module may not fit its Python.

    python bench/ab.py BASE CHANGE [--runs K] [--base-options "…"] [--change-options "…"]
        [-- metanode bench options]

The options after `--` go to both sides; `--base-options` and `--change-options` add options
to one side only, so one revision can be compared with itself under two settings
(`python bench/ab.py . . --change-options "--clients-txs-max 4000"`).

Prints each run's figures as they come, then one line per side with the median of every figure
the bench printed on its last two lines (the cores, tps, p50_ms, p99_ms, …), and as its last
line `ab: runs=K base_tps=… change_tps=… tps_change_over_base=…`. A revision's worktree is
removed at the end, also when a run fails. Each run writes its report into the temporary
directory (removed at the end), not into the checkout's `bench-out/`, unless `--out` is among
the bench options (then every run writes there and the last one stays).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIGURE = re.compile(r"([a-z_0-9]+)=([0-9.]+)")
CORES = re.compile(r"cores used in the window: validators ([0-9.]+), load ([0-9.]+)")


def figures(output: str) -> dict[str, float]:
    """The figures of the bench's last two lines: the cores line's (validators', load's) and
    every key=value of both."""
    cores_line, last = output.strip().splitlines()[-2:]
    found = {}
    cores = CORES.match(cores_line)
    if cores:
        found = {"cores_validators": float(cores[1]), "cores_load": float(cores[2])}
    for key, value in FIGURE.findall(cores_line + " " + last):
        found[key] = float(value)
    return found


def checkout(revision: str, tree: Path) -> Path:
    """The `src` directory of `revision`: the working tree for '.', else a worktree at `tree`."""
    if revision == ".":
        return REPO / "src"
    added = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision],
        check=False,
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        raise SystemExit(f"cannot check out {revision!r}: {added.stderr.strip()}")
    build_core(tree)
    return tree / "src"


def build_core(tree: Path) -> None:
    """Build the compiled core of the revision checked out at `tree` into its `src/metanode`
    (nothing for a revision from before it)."""
    manifest = tree / "rust" / "Cargo.toml"
    if not manifest.exists():
        return
    # The working tree's target directory: its dependencies are built already, so only the
    # crate itself compiles, and no other checkout's build can replace the library meanwhile.
    target = REPO / "rust" / "target"
    command = ["cargo", "build", "--release", "--locked", "--features", "python"]
    built = subprocess.run(
        [*command, "--manifest-path", str(manifest)],
        env={**os.environ, "CARGO_TARGET_DIR": str(target), "PYO3_PYTHON": sys.executable},
        check=False,
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise SystemExit(f"cannot build the compiled core of {tree}:\n{built.stderr[-2000:]}")
    shutil.copyfile(target / "release" / "lib_core.so", tree / "src" / "metanode" / "_core.abi3.so")


def run_bench(src: Path, options: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    result = subprocess.run(
        [sys.executable, "-m", "metanode.cli.main", "bench", *options],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"bench failed with {src}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return figures(result.stdout)


def run_options(options: list[str], directory: Path, side: str, number: int) -> list[str]:
    """The bench options of one run: a report directory of its own unless `--out` is given."""
    if any(option == "--out" or option.startswith("--out=") for option in options):
        return options
    return [*options, "--out", str(directory / f"{side}-{number + 1}")]


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the runs that printed it (an older revision may lack one)."""
    keys = dict.fromkeys(key for run in runs for key in run)
    return {key: statistics.median(run[key] for run in runs if key in run) for key in keys}


def line(values: dict[str, float]) -> str:
    return " ".join(f"{key}={value:g}" for key, value in values.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="git revision, or '.' for the working tree")
    parser.add_argument("change", help="git revision, or '.' for the working tree")
    parser.add_argument("--runs", type=int, default=2, help="runs of each side")
    parser.add_argument("--base-options", default="", help="bench options of the base only")
    parser.add_argument("--change-options", default="", help="bench options of the change only")
    own = sys.argv[1:]
    options: list[str] = []
    if "--" in own:  # what follows goes to `metanode bench` as it is
        options = own[own.index("--") + 1 :]
        own = own[: own.index("--")]
    arguments = parser.parse_args(own)
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="metanode-ab-") as directory:
        trees = {}
        try:
            for side in ("base", "change"):
                trees[side] = checkout(getattr(arguments, side), Path(directory) / side)
            results: dict[str, list[dict[str, float]]] = {"base": [], "change": []}
            for number in range(arguments.runs):
                for side in ("base", "change"):
                    extra = shlex.split(getattr(arguments, f"{side}_options"))
                    chosen = run_options(options + extra, Path(directory), side, number)
                    results[side].append(run_bench(trees[side], chosen))
                    print(f"{side} run {number + 1}: {line(results[side][-1])}", flush=True)
        finally:
            for src in trees.values():
                if src != REPO / "src":
                    subprocess.run(
                        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(src.parent)],
                        check=False,
                        capture_output=True,
                    )
    middle = {side: medians(runs) for side, runs in results.items()}
    for side in ("base", "change"):
        print(f"{side} median of {arguments.runs}: {line(middle[side])}")
    base_tps, change_tps = middle["base"]["tps"], middle["change"]["tps"]
    print(
        f"ab: runs={arguments.runs} base_tps={base_tps:.0f} change_tps={change_tps:.0f} "
        f"tps_change_over_base={change_tps / base_tps:.3f}"
    )


if __name__ == "__main__":
    main()
