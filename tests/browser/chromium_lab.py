"""Real JupyterLab and real Chromium (Debian's, driven by playwright): what the browser tests share."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..helpers import free_port, stop_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def flags_with(flag: str, value: str) -> list[str]:
    """``CHROMIUM_FLAGS`` with ``flag`` given ``value`` (``--flag=value``)."""
    return [f"{flag}={value}" if f == flag else f for f in CHROMIUM_FLAGS]


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HERE = Path(__file__).resolve().parent


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


@contextmanager
def running_lab(root: Path) -> Iterator[Lab]:
    """A real JupyterLab serving ``root`` on a free loopback port, stopped afterwards.

    Its notebooks render every cell (``windowingMode: none``): JupyterLab's default renders only
    the cells in view, so an output scrolled away (a frame, a video) would not be in the page.
    """
    token, port = secrets.token_hex(16), free_port()
    settings = Path(tempfile.mkdtemp(prefix="labkit-lab-settings-"))
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            err = process.stderr.read().decode()[-3000:] if process.stderr else ""
            process.kill()
            raise RuntimeError(f"JupyterLab did not start: {err}")
        time.sleep(0.3)
    try:
        yield Lab(url, token, root)
    finally:
        stop_process(process, 15)
        shutil.rmtree(settings, ignore_errors=True)


async def open_page(flags: list[str]) -> AsyncIterator[object]:
    async for context in chromium_context(flags, width=1500, height=1100):
        yield await context.new_page()


async def chromium_context(flags: list[str], width: int = 1200, height: int = 900) -> AsyncIterator[Any]:
    """Debian's Chromium with ``flags``, and a context (a window's worth of pages) in it; closed afterwards."""
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        # playwright gives each launch a fresh temporary profile of its own
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        context = await browser.new_context(
            viewport={"width": width, "height": height}, permissions=["clipboard-read", "clipboard-write"]
        )
        yield context
        await browser.close()
