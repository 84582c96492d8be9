"""The dashboard's built assets (dashboard/dist, made by `make setup` with npm and Vite; in an
installed wheel, metanode/dashboard_dist), served as static files at `/dashboard`. The page
is one HTML file that routes by its URL fragment, so every view is `/dashboard/#/…` and
nothing here knows its routes.

A checkout whose dashboard is not built answers every `/dashboard` request with a 503 page
that says how to build it, checked per request, so building while the node runs is enough.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

# An installed wheel carries the built dashboard in the package (`make dist`); a checkout
# serves the one `make setup` builds beside the sources.
PACKAGED = Path(__file__).resolve().parents[1] / "dashboard_dist"
CHECKOUT = Path(__file__).resolve().parents[3] / "dashboard" / "dist"
ASSETS = PACKAGED if PACKAGED.is_dir() else CHECKOUT
BUILD_HINT = "make setup (or: cd dashboard && npm ci && npm run build)"


class Dashboard:
    """An ASGI app: the static files under `assets`, or the page saying how to build them."""

    def __init__(self, assets: Path = ASSETS) -> None:
        self.assets = assets
        self.files = StaticFiles(directory=assets, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.assets / "index.html").is_file():
            await self.files(scope, receive, send)
            return
        await not_built(self.assets)(scope, receive, send)


def not_built(assets: Path) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Metanode dashboard not built</title></head><body>"
        "<main><h1>The dashboard is not built</h1>"
        f"<p>This node serves the dashboard from <code>{html.escape(str(assets))}</code>, "
        "which has no <code>index.html</code>. Build it in the project's checkout with "
        f"<code>{html.escape(BUILD_HINT)}</code>; the node picks it up without a restart.</p>"
        "</main></body></html>",
        status_code=503,
    )
