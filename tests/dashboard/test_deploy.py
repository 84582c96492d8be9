"""deploy/: the Prometheus scrape configuration names the gateways `metanode up` starts, and the
Grafana dashboard plots only metrics a node exposes (under the names Prometheus gives them)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from metanode.cli import network
from metanode.node.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# The sample names each metric type shows up under in the exposition format.
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def exposed(registry: CollectorRegistry) -> set[str]:
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def _family(sample: str) -> str:
    return re.sub(r"_(total|bucket|sum|count)$", "", sample)


def test_prometheus_scrapes_the_gateways_of_metanode_up() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    defaults = inspect.signature(network.up).parameters
    base = defaults["api_port_base"].default
    count = defaults["validators"].default
    assert targets == [f"127.0.0.1:{base + index}" for index in range(count)]


def test_the_grafana_dashboard_plots_only_metrics_a_node_exposes() -> None:
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "metanode.json").read_text())
    used = {
        name
        for panel in board["panels"]
        for target in panel["targets"]
        for name in re.findall(r"metanode_[a-z0-9_]+", target["expr"])
    }
    available = exposed(Metrics().registry)
    assert used - available == set()
    # Every metric the node has is on the dashboard.
    assert {_family(name) for name in available} == {_family(name) for name in used}
    datasource = (
        DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    ).read_text()
    assert all(panel["datasource"]["uid"] in datasource for panel in board["panels"])
