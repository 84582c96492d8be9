"""The gateway serves the dashboard's build as static files at /dashboard, and a checkout that
has not built it gets a page saying how, not a blank answer."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from metanode.api import dashboard


def _client(assets: Path) -> TestClient:
    return TestClient(Starlette(routes=[Mount("/dashboard", dashboard.Dashboard(assets))]))


def test_an_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    client = _client(tmp_path / "dist")
    for path in ("/dashboard/", "/dashboard/assets/index.js"):
        answer = client.get(path)
        assert answer.status_code == 503
        assert "The dashboard is not built" in answer.text
        assert html.escape(dashboard.BUILD_HINT) in answer.text


def test_a_built_dashboard_is_served_and_picked_up_without_a_restart(tmp_path: Path) -> None:
    assets = tmp_path / "dist"
    client = _client(assets)
    assert client.get("/dashboard/").status_code == 503
    (assets / "assets").mkdir(parents=True)
    (assets / "index.html").write_text("<!doctype html><title>Metanode dashboard</title>")
    (assets / "assets" / "index.js").write_text("console.log('dashboard')")
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "Metanode dashboard" in page.text
    script = client.get("/dashboard/assets/index.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/dashboard/assets/missing.js").status_code == 404


def test_the_project_build_is_where_the_gateway_looks() -> None:
    index = dashboard.ASSETS / "index.html"
    assert index.is_file(), f"{index} is missing: run `make setup`"
    assert '<main id="view"' in index.read_text()
