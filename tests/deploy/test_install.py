"""The wheel and install.sh on real processes: `make dist` builds the wheel (the package with
its compiled core and the built dashboard) and uv.lock's pins, install.sh puts them in a venv
of their own (with uv, its cache first: nothing of this checkout's .venv or src/ is on its
path) and sets up each tier twice, the second time changing nothing, and the installed
`metanode up` commits blocks and serves the dashboard. The community tier joins that network
and registers once its node has coins for the fee."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metanode.net.ports import free_port_block

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "bpci-server.service"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["make", "-C", str(ROOT), "dist", f"DIST={out}"], check=True, timeout=1800)
    return out


def install(dist: Path, cwd: Path, *argv: str, password: str = "") -> subprocess.CompletedProcess:
    env = {
        **{key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"},
        # Only the system's tools on the path: what runs is the venv install.sh makes.
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "UV": str(ROOT / ".venv" / "bin" / "uv"),
        "METANODE_KEY_PASSWORD": password,
    }
    wheel = next(dist.glob("metanode-*.whl"))
    return subprocess.run(
        [
            "sh",
            str(ROOT / "install.sh"),
            "--wheel",
            str(wheel),
            "--requirements",
            str(dist / "requirements.txt"),
            *argv,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=900,
        check=False,
    )


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time (ignoring bytecode)."""
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dev_network(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """install.sh --tier dev, twice, then the installed `metanode up`; (prefix, v0's URL)."""
    work = tmp_path_factory.mktemp("dev")
    base = free_port_block(8)
    ports = ("--port-base", str(base), "--api-port-base", str(base + 4))
    first = install(dist, work, "--tier", "dev", *ports)
    assert first.returncode == 0, first.stderr + first.stdout
    prefix = work / "metanode"
    before = tree(prefix)
    again = install(dist, work, "--tier", "dev", *ports)
    assert again.returncode == 0, again.stderr + again.stdout
    assert "metanode 0.1.0 already installed" in again.stdout
    assert "dev network already in" in again.stdout
    assert tree(prefix) == before
    # The installed package is the wheel's, not this checkout's.
    where = subprocess.run(
        [
            str(prefix / ".venv/bin/python"),
            "-c",
            "import metanode, metanode._core; print(metanode.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    ).stdout
    assert where.startswith(str(prefix / ".venv" / "lib"))
    up = subprocess.Popen(
        [str(prefix / ".venv/bin/metanode"), "up", "--home", str(prefix / "network")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    url = f"http://127.0.0.1:{base + 4}"
    try:
        yield prefix, url
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()


def height(url: str) -> int:
    try:
        return int(httpx.get(f"{url}/api/v1/status", timeout=5).json()["height"])
    except (httpx.HTTPError, ValueError, KeyError):
        return -1


def wait_height(url: str, at_least: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while height(url) < at_least:
        assert time.monotonic() < deadline, f"{url} did not reach height {at_least}"
        time.sleep(0.5)


@pytest.mark.slow  # a wheel build and two venv installs: ~40 s of CPU, minutes under load
def test_the_wheel_installs_in_a_clean_venv_and_its_metanode_up_commits_blocks(
    dev_network: tuple[Path, str],
) -> None:
    prefix, url = dev_network
    wait_height(url, 2, timeout_s=180)
    for script in ("metanode", "bpi", "bpci", "bpci-core"):
        done = subprocess.run(
            [str(prefix / ".venv/bin" / script), "--help"], capture_output=True, check=False
        )
        assert done.returncode == 0, script
    # The dashboard the wheel carries, not the page that says it is not built.
    page = httpx.get(f"{url}/dashboard/", timeout=10)
    assert page.status_code == 200
    assert page.text == (ROOT / "dashboard" / "dist" / "index.html").read_text()
    script = next((ROOT / "dashboard" / "dist" / "assets").glob("index-*.js"))
    served = httpx.get(f"{url}/dashboard/assets/{script.name}", timeout=10)
    assert served.status_code == 200 and served.content == script.read_bytes()
    assert not (ROOT / "src" / "metanode" / "dashboard_dist").exists()  # the build's copy only


@pytest.mark.slow
def test_the_community_tier_joins_and_registers_once_its_node_has_coins(
    dist: Path, dev_network: tuple[Path, str], tmp_path: Path
) -> None:
    prefix, url = dev_network
    wait_height(url, 1, timeout_s=180)
    args = ("--tier", "community", "--peer", url, "--name", "c1")
    unfunded = install(dist, tmp_path, *args)
    assert unfunded.returncode == 1, unfunded.stderr + unfunded.stdout
    assert "registering failed; give mn1" in unfunded.stdout
    node = tmp_path / "metanode" / "node"
    address = _node_id(prefix, node, "c1")
    metanode = prefix / ".venv/bin/metanode"
    subprocess.run(
        [
            str(metanode),
            "tx",
            "send",
            "--to",
            address,
            "--amount",
            "10",
            "--from",
            "dev0",
            "--wait",
            "--home",
            str(prefix / "network"),
            "--node",
            url,
            "--json",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    funded = install(dist, tmp_path, *args)
    assert funded.returncode == 0, funded.stderr + funded.stdout
    again = install(dist, tmp_path, *args)
    assert again.returncode == 0, again.stderr + again.stdout
    assert f"{address} is already registered" in again.stdout
    assert "node home already in" in again.stdout


def _node_id(prefix: Path, node: Path, name: str) -> str:
    return subprocess.run(
        [
            str(prefix / ".venv/bin/python"),
            "-c",
            "import pathlib, sys\n"
            "from metanode.net import tls\n"
            "print(tls.node_id(tls.certificate_key(pathlib.Path(sys.argv[1]).read_bytes())))",
            str(node / "nodes" / name / "node.pem"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.slow
@pytest.mark.skipif(not UNIT.exists(), reason="deploy/systemd/bpci-server.service (bpci server)")
def test_the_enterprise_tier_makes_a_validator_home_and_installs_the_unit(
    dist: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    base = str(free_port_block(2))
    args = ("--tier", "enterprise", "--root", str(root), "--port-base", base)
    first = install(dist, tmp_path, *args, password="correct horse battery staple 1")
    assert first.returncode == 0, first.stderr + first.stdout
    before = tree(root)
    again = install(dist, tmp_path, *args, password="correct horse battery staple 1")
    assert again.returncode == 0, again.stderr + again.stdout
    assert "validator home already in" in again.stdout
    assert tree(root) == before
    node_dir = root / "var/lib/metanode/nodes/v0"
    assert (node_dir / "validator.key").exists() and (node_dir / "config.toml").exists()
    units = root / "etc/systemd/system"
    assert (units / "bpci-server.service").read_text() == UNIT.read_text()
    drop_in = (units / "bpci-server.service.d/home.conf").read_text()
    assert "Environment=METANODE_HOME=/var/lib/metanode/nodes/v0\n" in drop_in
    env = root / "etc/metanode/bpci-server.env"
    assert env.stat().st_mode & 0o777 == 0o600
    assert env.read_text() == "METANODE_KEY_PASSWORD=correct horse battery staple 1\n"
    assert (root / "opt/metanode/.venv/bin/bpci").exists()
