"""deploy/'s Compose file and Helm chart agree with the homes `metanode init --hosts` makes:
each validator is its own host, named as its peers' configs name it, listening where its
service or published port points, probed on the gateway it serves. A Docker engine does not
run here, so the files are checked for what they say; `make deploy-lint` runs their linters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metanode.node import config as node_config
from metanode.node import home as dev_home

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HELM = ROOT / ".tools" / "helm"


def metanode(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metanode.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_hosts_puts_each_validator_on_its_own_host(tmp_path: Path) -> None:
    home = tmp_path / "net"
    done = metanode("init", "--dev", "--validators", "3", "--home", str(home), "--json",
                    "--hosts", "v0, v1,v2", "--listen-host", "0.0.0.0")  # fmt: skip
    assert done.returncode == 0, done.stderr
    for index, entry in enumerate(dev_home.node_entries(home)):
        cfg = node_config.load(entry.config_path)
        assert (cfg.p2p.listen.host, cfg.api.listen.host) == ("0.0.0.0", "0.0.0.0")
        assert cfg.p2p.listen.port == 26600 + index
        assert {peer.name: peer.host for peer in cfg.p2p.peers} == {
            f"v{j}": f"v{j}" for j in range(3) if j != index
        }


@pytest.mark.parametrize("hosts", ["v0,v1", "v0,,v2", "v0,v1,v2,v3"])
def test_init_refuses_hosts_that_do_not_name_each_validator_and_writes_nothing(
    tmp_path: Path, hosts: str
) -> None:
    home = tmp_path / "net"
    done = metanode("init", "--dev", "--validators", "3", "--home", str(home), "--hosts", hosts)
    assert done.returncode == 2
    assert "--hosts must name 3 hosts" in done.stderr
    assert not home.exists()


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_four_validators_on_the_hosts_its_init_names() -> None:
    services = _compose()["services"]
    init = " ".join(services["init"]["command"])
    assert "metanode init --dev --validators 4" in init
    hosts = init.split("--hosts ")[1].split()[0].split(",")
    assert hosts == ["v0", "v1", "v2", "v3"]
    for index, name in enumerate(hosts):
        service = services[name]
        assert service["command"] == ["start", "--home", f"/var/lib/metanode/net/nodes/{name}"]
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        api = 8600 + index  # `metanode init`'s default --api-port-base, +N for vN
        assert service["ports"] == [f"127.0.0.1:{api}:{api}"]
        assert service["healthcheck"]["test"][-1] == f"http://127.0.0.1:{api}/health"
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "compose.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"v{i}:{8600 + i}" for i in range(4)]
    datasource = yaml.safe_load((DEPLOY / "grafana" / "compose-datasource.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert (
        "./prometheus/compose.yml:/etc/prometheus/compose.yml:ro"
        in (services["prometheus"]["volumes"])
    )


def test_the_image_runs_the_console_scripts_of_the_package() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["metanode"]' in dockerfile
    assert "--require-hashes -r /dist/requirements.txt" in dockerfile  # uv.lock's pins only
    assert "EXPOSE 26600 8600" in dockerfile


@pytest.mark.skipif(not HELM.exists(), reason="helm is built by `make deploy-lint` (Go proxy)")
def test_the_chart_renders_a_statefulset_with_a_volume_and_probes_per_validator() -> None:
    rendered = subprocess.run(
        [str(HELM), "template", "m", str(DEPLOY / "helm" / "metanode"), "--set", "validators=3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    kinds = sorted((doc["kind"], doc["metadata"]["name"]) for doc in documents)
    assert kinds == sorted(
        [("Service", f"v{i}") for i in range(3)] + [("StatefulSet", f"v{i}") for i in range(3)]
    )
    for doc in documents:
        index = int(doc["metadata"]["name"][1:])
        if doc["kind"] == "Service":
            ports = {port["name"]: port["port"] for port in doc["spec"]["ports"]}
            assert ports == {"p2p": 26600 + index, "gateway": 8600 + index}
            continue
        spec = doc["spec"]
        assert spec["replicas"] == 1
        assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "home"
        (container,) = spec["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "gateway"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "gateway"}
        assert json.dumps(container["args"]).endswith(f'nodes/v{index}"]')


def test_install_sh_refuses_usage_errors_before_doing_anything(tmp_path: Path) -> None:
    for argv, message in (
        ([], "give --tier"),
        (["--tier", "cloud"], "unknown tier cloud"),
        (["--tier", "community"], "give --peer URL"),
        (["--tier", "enterprise", "--prefix", str(tmp_path)], "ROOT/opt/metanode"),
        (["--tier", "dev", "--wheel", str(tmp_path / "none.whl")], "make dist"),
        (["--tier"], "--tier needs a value"),
    ):
        done = subprocess.run(
            ["sh", str(ROOT / "install.sh"), *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2, argv
        assert message in done.stderr, (argv, done.stderr)
    assert list(tmp_path.iterdir()) == []
