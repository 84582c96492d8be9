"""Tidiness as a test (STYLE.md §12): layer order of imports, banned imports in pure cores,
no float literal in consensus state, no bare `except Exception` in the cores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "metanode"

# DESIGN.md: a module imports only from layers below it (or its own package).
LAYERS = {
    "errors": 0,
    "core": 0,  # which implementation runs (compiled or reference); the crypto and state use it
    "codec": 1,
    "crypto": 1,
    "types": 2,
    # Relay storage's pure logic (coding, placement, challenge draws): the state rules use it.
    "storage": 2,
    "state": 3,
    "mempool": 3,
    "consensus": 3,
    "docklock": 3,
    "testing": 4,
    "net": 4,
    "vault": 4,  # personal payloads sealed per subject, erasable (a service's or client's store)
    "guard": 4,
    "node": 5,
    "executor": 5,
    "api": 6,
    "light": 6,
    # Validators as hosts in network namespaces, their faults and checks (docs/testnet.md).
    "testnet": 6,
    "cli": 7,
    # App developers' tools (a dev chain process, the pytest plugin): they run the CLI.
    "devkit": 8,
}
# Pure cores: no I/O, clock, ambient randomness or threads (STYLE.md §1). The LMDB store is
# the one I/O edge inside `state`, so it is listed apart.
# Within layer 3 the mempool stands on the state machine: admission runs the state's own
# envelope checks (one piece of code for both) and reads accounts through its queries.
# The app registry (state/apps) checks a module at deploy by the cage's own rules
# (docklock.cage.check_module), so what the chain accepts is exactly what the cage runs.
# An app's state root is the chain's own state tree (state/tree.py and its multiproof, which
# import neither docklock nor anything above layer 1), so there is one implementation.
# The node carries out the executor role: it hands the executor service committed calls and
# gossips its receipts (the service knows nothing of the node).
# The implementation choice (core) raises the project's own errors.
# The peer links report to the guard and obey its bans (net/transport.py).
SAME_LAYER_ALLOWED = {
    ("net", "guard"),
    ("mempool", "state"),
    ("state", "docklock"),
    ("docklock", "state"),
    ("node", "executor"),
    ("core", "errors"),
}
PURE = {"consensus", "mempool", "state", "light", "storage"}
PURE_EXEMPT = {"state/store.py", "state/lmdb_store.py", "light/fetcher.py", "light/home.py"}
BANNED_IN_PURE = {"asyncio", "socket", "lmdb", "time", "random", "threading", "os", "subprocess"}
CORES = {"codec", "crypto", "types", "state", "mempool", "consensus", "storage"}


def modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def package_of(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_layers(path: Path) -> None:
    package = package_of(path)
    if package == "__init__":
        return
    assert package in LAYERS, f"{package} is not placed in a layer: add it to LAYERS and DESIGN"
    own = LAYERS[package]
    tree = ast.parse(path.read_text())
    relative = str(path.relative_to(SOURCE))
    for name in imported(tree):
        parts = name.split(".")
        if parts[0] == "metanode" and len(parts) > 1 and parts[1] != package:
            other = parts[1]
            assert other in LAYERS, f"{relative} imports unknown package {name}"
            allowed = LAYERS[other] < own or (LAYERS[other] == own == 1)
            assert allowed or (package, other) in SAME_LAYER_ALLOWED, (
                f"{relative} (layer {own}) imports {name} (layer {LAYERS[other]})"
            )
        if package in PURE and relative not in PURE_EXEMPT:
            assert parts[0] not in BANNED_IN_PURE, f"pure core {relative} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_broad_except_in_cores(path: Path) -> None:
    if package_of(path) not in CORES:
        return
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ExceptHandler):
            caught = ast.unparse(node.type) if node.type else "everything"
            assert caught not in {"Exception", "BaseException", "everything"}, (
                f"{path.relative_to(SOURCE)}:{node.lineno} catches {caught}"
            )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_float_literal_in_state(path: Path) -> None:
    if package_of(path) not in {"state", "consensus", "mempool"}:
        return
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float), (
                f"{path.relative_to(SOURCE)}:{node.lineno} has a float; money is integer base units"
            )
