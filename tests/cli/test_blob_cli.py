"""`bpi deploy --via-storage | --module-root` against one real 1-validator dev chain (real
processes, sockets, LMDB): a module past the inline limit is placed in relay storage, deployed
by its root and called (the node fetches it from its own chunk store and runs it), then
upgraded to another by relay storage (its owner only), whose calls run version 2; a blob
placed by `bpi blob put` is deployed by root and then cannot be deleted, another is; a module
the cage refuses is never placed, and a blob of another owner is refused by the chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto.hashing import blake3_hash
from metanode.storage import coding
from metanode.types import constants as types_constants
from tests.cli.test_apps_cli import COUNTER, bpi, run
from tests.node.cluster import Cluster, running
from tests.state.test_apps import FORBIDDEN
from tests.state.test_storage_modules import BIG, NEXT, big_module


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running(tmp_path_factory.mktemp("blob-cli") / "net", validators=1) as cluster:
        cluster.wait_height(1)
        yield cluster


def deploy_big(chain: Cluster, directory: Path, k: int, n: int, replicas: int) -> dict[str, Any]:
    """`bpi deploy --via-storage` of BIG, placed k-of-n, with `replicas` replicas."""
    module = directory / "big.wasm"
    module.write_bytes(BIG)
    return bpi(
        chain, "deploy", str(module), "--via-storage", "--k", str(k), "--n", str(n),
        "--replicas", str(replicas), "--fuel-limit", "100000",
    )  # fmt: skip


def test_a_module_past_the_inline_limit_is_deployed_and_upgraded_via_storage_and_runs(
    chain: Cluster, tmp_path: Path
) -> None:
    assert len(BIG) > types_constants.app_module_bytes_max
    deployed = deploy_big(chain, tmp_path, 1, 1, 1)
    assert deployed["tx"]["ok"] and deployed["app"] == blake3_hash(BIG).hex()
    assert deployed["root"] == coding.content_root(BIG).hex()
    assert (deployed["size"], deployed["functions"]) == (len(BIG), ["increment"])
    first = bpi(chain, "call", deployed["app"], "increment", "--wait", "--wait-s", "90")
    second = bpi(chain, "call", deployed["app"], "increment", "--wait", "--wait-s", "90")
    assert first["output"] == (1).to_bytes(8, "little").hex()
    assert second["output"] == (2).to_bytes(8, "little").hex()
    assert fetched(chain, "v0", 1)
    # The owner upgrades it to another module by relay storage: calls run version 2, fetched
    # and checked as the first was, on the app's state so far.
    module = tmp_path / "next.wasm"
    module.write_bytes(NEXT)
    upgrade = ("upgrade", deployed["app"], str(module), "--via-storage", "--k", "1", "--n", "1")
    upgraded = bpi(chain, *upgrade)
    assert upgraded["tx"]["ok"] and upgraded["version"] == 2
    assert upgraded["module_hash"] == blake3_hash(NEXT).hex()
    assert (upgraded["root"], upgraded["functions"]) == (
        coding.content_root(NEXT).hex(),
        ["increment"],
    )
    third = bpi(chain, "call", deployed["app"], "increment", "--wait", "--wait-s", "90")
    assert third["output"] == (3).to_bytes(8, "little").hex()
    assert fetched(chain, "v0", 2)
    home = ("--home", str(chain.home), "--json")
    foreign = run("bpi", "upgrade", deployed["app"], str(COUNTER), "--from", "dev1", *home)
    assert foreign.returncode == 1, foreign.stderr
    assert json.loads(foreign.stdout)["tx"]["receipt"]["code_name"] == "apps.not_owner"
    # Nor is a module placed (and paid for) for an upgrade of another's app.
    unpaid = tmp_path / "unpaid.wasm"
    unpaid.write_bytes(big_module("v"))
    placing = run("bpi", "upgrade", deployed["app"], str(unpaid), "--via-storage", "--from", "dev1",
                  *home)  # fmt: skip
    assert placing.returncode == 2 and "owned by" in placing.stderr
    root = coding.content_root(unpaid.read_bytes()).hex()
    assert chain.client.get(f"{chain.url('v0')}/api/v1/blobs/{root}").status_code == 404
    inline = bpi(chain, "upgrade", deployed["app"], str(COUNTER))
    assert inline["version"] == 3 and "root" not in inline
    assert run("bpi", "upgrade", deployed["app"], *home).returncode == 2


def fetched(chain: Cluster, name: str, version: int) -> bool:
    """Whether node `name` logged fetching and checking the stored module of `version`."""
    return any(
        "stored module fetched" in line and json.loads(line).get("version") == version
        for line in chain.log(name).splitlines()
        if line.startswith("{")
    )


def test_a_blob_put_before_is_deployed_by_its_root_and_deleted_by_its_owner_only(
    chain: Cluster, tmp_path: Path
) -> None:
    other = big_module("y")
    file = tmp_path / "other.wasm"
    file.write_bytes(other)
    root = bpi(chain, "blob", "put", str(file), "--k", "1", "--n", "1")["root"]
    foreign = run("bpi", "deploy", "--module-root", root, "--from", "dev1", "--home",
                  str(chain.home), "--json")  # fmt: skip
    assert foreign.returncode == 1, foreign.stderr
    assert json.loads(foreign.stdout)["tx"]["receipt"]["code_name"] == "storage.blob_not_owner"
    deployed = bpi(chain, "deploy", "--module-root", root, "--replicas", "1")
    assert deployed["tx"]["ok"] and deployed["app"] == blake3_hash(other).hex()
    # An app's module stays; a blob no app uses is deleted by its owner, and is gone.
    pinned = run("bpi", "blob", "delete", root, "--home", str(chain.home), "--json")
    assert pinned.returncode == 1
    assert json.loads(pinned.stdout)["tx"]["receipt"]["code_name"] == "storage.blob_in_use"
    loose = tmp_path / "loose.bin"
    loose.write_bytes(b"no module" * 100)
    spare = bpi(chain, "blob", "put", str(loose), "--k", "1", "--n", "1")["root"]
    assert bpi(chain, "blob", "delete", spare)["tx"]["ok"]
    assert chain.client.get(f"{chain.url('v0')}/api/v1/blobs/{spare}").status_code == 404


def test_refusals_before_anything_is_placed(chain: Cluster, tmp_path: Path) -> None:
    module = tmp_path / "forbidden.wasm"
    module.write_bytes(FORBIDDEN)
    home = ("--home", str(chain.home))
    refused = run("bpi", "deploy", str(module), "--via-storage", "--k", "1", "--n", "1", *home)
    assert refused.returncode == 2 and "forbidden_import" in refused.stderr
    placed = chain.client.get(
        f"{chain.url('v0')}/api/v1/blobs/{coding.content_root(FORBIDDEN).hex()}"
    )
    assert placed.status_code == 404
    both = run("bpi", "deploy", str(module), "--module-root", "00" * 32, *home)
    assert both.returncode == 2 and "--module-root" in both.stderr
    assert run("bpi", "deploy", *home).returncode == 2
