"""The web app: the ACS guide's calling page at ``GET /``, plain ES modules under ``/app/``.

The page is a labkit agent like the Python ``CallAgent``: it gets a token from
``/api/token``, signs in on ``/ws`` and calls with the browser's own ``RTCPeerConnection``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_APP_DIR = Path(__file__).with_name("webapp")


async def handle_index(request: web.Request) -> web.FileResponse:
    """``GET /``: the calling page."""
    return web.FileResponse(WEB_APP_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def add_web_app(app: web.Application) -> None:
    app.router.add_get("/", handle_index)
    app.router.add_static("/app/", WEB_APP_DIR, append_version=False)
