"""One headless browser per engine for the interop matrix, and the web app driven in it.

- **Firefox:** Debian's ``firefox-esr`` under ``puppeteer-core`` over WebDriver BiDi
  (``firefox/driver.mjs``, a Node process that takes JSON commands on stdin).
- **Chromium:** Debian's ``chromium`` started once with a DevTools port; each test connects
  to it with playwright (``connect_over_cdp``) and opens its own context.

Both give a page with the same ``evaluate(fn, arg)``, so ``WebAppPeer`` drives the web app's
calling API (``window.labkit``) the same way in either.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from ..browser.chromium_lab import CHROMIUM, CHROMIUM_FLAGS
from ..browser.web_pages import CALL_SUMMARY
from ..helpers import free_port, stop_process

FIREFOX = "/usr/bin/firefox-esr"
DRIVER_DIR = Path(__file__).with_name("firefox")


class Page(Protocol):
    async def evaluate(self, fn: str, arg: Any = None) -> Any: ...


class Firefox:
    """One Firefox (through ``driver.mjs``) for a whole test module."""

    def __init__(self) -> None:
        if not Path(FIREFOX).exists():
            pytest.fail(f"{FIREFOX} is missing: run 'make system-deps' (it installs firefox-esr)")
        if not (DRIVER_DIR / "node_modules" / "puppeteer-core").exists():
            pytest.fail("puppeteer-core is missing: run 'make install' (npm ci in tests/interop/firefox)")
        self.process = subprocess.Popen(
            ["node", str(DRIVER_DIR / "driver.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the pages' console errors show in the test's output
            text=True,
            cwd=DRIVER_DIR,
        )
        self._lock = threading.Lock()
        self._next = 0
        hello = self._line(60)
        self.version = str(hello["version"])

    def _line(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the Firefox driver exited ({self.process.poll()})")
            if line.startswith("{"):
                reply: dict[str, Any] = json.loads(line)
                return reply
        raise AssertionError("the Firefox driver did not answer")

    def command(self, op: str, **fields: Any) -> Any:
        assert self.process.stdin is not None
        with self._lock:
            self._next += 1
            self.process.stdin.write(json.dumps({"id": self._next, "op": op, **fields}) + "\n")
            self.process.stdin.flush()
            reply = self._line(60)
        if "error" in reply:
            raise AssertionError(f"Firefox: {reply['error']}")
        return reply["result"]

    async def open(self, url: str) -> FirefoxPage:
        opened = await asyncio.to_thread(self.command, "open", url=url)
        return FirefoxPage(self, int(opened["page"]))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write('{"op": "quit"}\n')
            self.process.stdin.flush()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class FirefoxPage:
    def __init__(self, browser: Firefox, page: int) -> None:
        self.browser = browser
        self.page = page

    async def evaluate(self, fn: str, arg: Any = None) -> Any:
        return await asyncio.to_thread(self.browser.command, "evaluate", page=self.page, fn=fn, arg=arg)

    async def close(self) -> None:
        await asyncio.to_thread(self.browser.command, "close", page=self.page)


class Chromium:
    """One Chromium with a DevTools port for a whole test module."""

    def __init__(self) -> None:
        if not Path(CHROMIUM).exists():
            pytest.fail(f"{CHROMIUM} is missing: run 'make system-deps' (it installs chromium)")
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="labkit-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--remote-debugging-port={self.port}", f"--user-data-dir={self.profile}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=2) as reply:
                    self.version = str(json.load(reply)["Browser"])
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError("Chromium did not start") from None
                time.sleep(0.2)

    @asynccontextmanager
    async def context(self) -> AsyncIterator[Any]:
        """A fresh browser context (its own pages and storage) in the shared Chromium."""
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            browser = await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{self.port}")
            context = await browser.new_context()
            try:
                yield context
            finally:
                await context.close()

    def close(self) -> None:
        stop_process(self.process, 15)
        shutil.rmtree(self.profile, ignore_errors=True)


class WebAppPeer:
    """The web app (``GET /``) in a page of either engine, signed in as ``name``."""

    def __init__(self, page: Page, name: str, engine: str) -> None:
        self.page = page
        self.name = name
        self.engine = engine
        self.user_id = ""

    async def signed_in(self) -> WebAppPeer:
        deadline = asyncio.get_running_loop().time() + 20
        while not (user_id := await self.page.evaluate("() => window.labkit?.agent?.userId || ''")):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.engine}: the web app did not sign in as {self.name}")
            await asyncio.sleep(0.1)
        self.user_id = str(user_id)
        return self

    async def dial(self, user_id: str) -> None:
        await self.page.evaluate(
            "async (id) => { document.getElementById('callee').value = id; await window.labkit.dial(true); }", user_id
        )

    async def accept(self) -> None:
        await self.wait(lambda _: True, "an incoming call", check_js="() => Boolean(window.labkit.incoming)")
        await self.page.evaluate("async () => { await window.labkit.accept(true); }")

    async def do(self, method: str) -> None:
        """Call ``window.labkit.call[method]()``: hold, resume, mute, unmute, stopVideo, startVideo, hangUp."""
        await self.page.evaluate("async (m) => { await window.labkit.call[m](); }", method)

    async def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] | None = await self.page.evaluate(CALL_SUMMARY)
        assert summary is not None, f"{self.engine}: no call in the page"
        return summary

    async def peer(self, user_id: str) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.summary())["peers"][user_id]
        return stats

    async def total(self, user_id: str, kind: str, field: str) -> float:
        """``field`` of the inbound ``kind`` stream from ``user_id`` now (0 before there is one)."""
        return float(((await self.peer(user_id))[kind] or {field: 0})[field])

    async def rate(self, user_id: str, kind: str, field: str, seconds: float = 1.0) -> float:
        """How fast ``field`` of the inbound ``kind`` stream from ``user_id`` grows, per second."""
        before = (await self.peer(user_id))[kind] or {field: 0}
        await asyncio.sleep(seconds)
        after = (await self.peer(user_id))[kind] or {field: 0}
        return float(after[field] - before[field]) / seconds

    async def wait(self, check: Any, what: str, timeout: float = 15.0, check_js: str | None = None) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await (self.page.evaluate(check_js) if check_js else self.summary())
            if value and check(value):
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.engine} ({self.name}): {what} did not hold within {timeout} s: {value}")
            await asyncio.sleep(0.1)

    async def wait_state(self, state: str, timeout: float = 15.0) -> dict[str, Any]:
        result: dict[str, Any] = await self.wait(lambda s: s["state"] == state, f"state {state}", timeout)
        return result
