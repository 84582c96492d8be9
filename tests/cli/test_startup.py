"""What `metanode` loads before it runs a command. Every command a person types, and every one
of the hundreds the tests start, is a new Python: a module imported at start-up is paid by all
of them, so the heavy ones load inside the commands that use them (about 1.2 s of CPU a start
before). Each command still works: the CLI tests run them."""

from __future__ import annotations

import json
import subprocess
import sys

# Loaded only by the commands that need them: the gateway's client and server, the light
# client's fetcher, the wasm runtime, the store, the simulator, the testnet, the attackers, a
# node's configuration (pydantic) and its home, the TLS certificates (x509), the genesis loader,
# the consensus suite, AnonCreds' native bindings (zero-knowledge proofs), the JOSE libraries
# of SD-JWT credentials and asyncio (the bench's event stream).
DEFERRED = (
    "httpx",
    "websockets",
    "fastapi",
    "uvicorn",
    "wasmtime",
    "lmdb",
    "metanode.api",
    "metanode.light.fetcher",
    "metanode.light.home",
    "metanode.state.store",
    "metanode.node.storecheck",
    "metanode.testing.simulator",
    "metanode.testnet.run",
    "metanode.cli.attack",
    "pydantic",
    "metanode.node.config",
    "metanode.node.home",
    "metanode.net.tls",
    "metanode.state.genesis.document",
    "metanode.consensus.real_suite",
    "anoncreds",
    "jwcrypto",
    "sd_jwt",
    "metanode.crypto.sd_jwt",
    "metanode.state.identity.disclosure",
    "asyncio",
)
# `bpci` runs a node's registration and its server: the store, the backup, the store check and
# a node's configuration (pydantic) and its home load only for the commands that use them.
BPCI_DEFERRED = (
    "metanode.state.store",
    "metanode.node.backup",
    "metanode.cli.recovery",
    "metanode.net.tls",
    "metanode.state.genesis.document",
    "fastapi",
    "pydantic",
    "metanode.node.config",
    "metanode.node.home",
)

# `bpi` (and `bpci`, which holds its commands) runs and places apps: wasmtime (the cage, the
# executor, the replay) and the storage nodes' client load only in the commands that use them.
BPI_DEFERRED = (
    "wasmtime",
    "httpx",
    "asyncio",
    "metanode.docklock.cage",
    "metanode.docklock.executor",
    "metanode.node.blobs",
    "jwcrypto",
)


def loaded_by(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(done.stdout))


def test_the_metanode_command_loads_no_heavy_module_before_a_command_runs() -> None:
    loaded = loaded_by("metanode.cli.main")
    assert "metanode.cli.network" in loaded  # the commands themselves are registered
    assert sorted(name for name in DEFERRED if name in loaded) == []


def test_the_bpci_command_loads_neither_the_store_nor_the_backup_before_a_command_runs() -> None:
    loaded = loaded_by("metanode.cli.bpci")
    assert "metanode.cli.server" in loaded
    assert sorted(name for name in BPCI_DEFERRED if name in loaded) == []


def test_the_bpi_and_bpci_commands_load_neither_wasmtime_nor_httpx_before_a_command_runs() -> None:
    for module, command in (
        ("metanode.cli.bpi", "metanode.cli.blob"),
        ("metanode.cli.bpci", "metanode.cli.bpi"),
    ):
        loaded = loaded_by(module)
        assert command in loaded
        assert sorted(name for name in BPI_DEFERRED if name in loaded) == []


def test_the_light_package_loads_a_submodule_only_when_one_of_its_names_is_used() -> None:
    assert "httpx" not in loaded_by("metanode.light.verifier")
    code = "import sys, metanode.light as light; light.HttpSource; print('httpx' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "True"
