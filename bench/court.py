"""What a court ruling's reads cost: for an app state of `--entries` entries, the bytes of the
reads (`docklock.appstate.prove_keys`) of k scattered keys, and the time every validator
spends checking them and computing the root after writing each key
(`ProvenState.check`, `root`), beside the time to compute the whole state's root.

    python bench/court.py [--entries N]

Last line: entries=… reads_1_key_bytes=… reads_10_keys_bytes=… reads_50_keys_bytes=…
check_and_root_50_keys_ms=… whole_root_ms=…
"""

from __future__ import annotations

import argparse
import time

from metanode.docklock.appstate import ProvenState, prove_keys, state_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    entries = parser.parse_args().entries
    state = {index.to_bytes(4, "big"): bytes(8) for index in range(entries)}
    started = time.perf_counter()
    root = state_root(state)
    whole_ms = (time.perf_counter() - started) * 1000
    figures = {"entries": str(entries)}
    for count in (1, 10, 50):
        keys = [index.to_bytes(4, "big") for index in range(0, entries, entries // count)][:count]
        reads = prove_keys(state, keys)
        started = time.perf_counter()
        proven = ProvenState.check(root, reads)
        for key in keys:
            proven[key] = b"written"
        proven.root()
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(f"{count} keys: reads {len(reads)} bytes, check and root {elapsed_ms:.1f} ms")
        figures[f"reads_{count}_key{'s' if count > 1 else ''}_bytes"] = str(len(reads))
    figures["check_and_root_50_keys_ms"] = f"{elapsed_ms:.1f}"
    figures["whole_root_ms"] = f"{whole_ms:.1f}"
    print(" ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
