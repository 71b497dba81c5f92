"""The embedded service: one call starts it in-process without blocking; stop() leaves nothing behind."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import aiohttp

from labkit.service import EmbeddedService, default_service, start_service


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_start_returns_at_once_and_stop_releases_thread_and_port() -> None:
    before = _threads()
    started = time.monotonic()
    service = start_service()
    assert time.monotonic() - started < 5
    assert service.url.startswith("http://127.0.0.1:")
    port = int(service.url.rsplit(":", 1)[1])
    assert "labkit-service" in _threads()
    service.stop()
    assert _threads() <= before
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))


def test_the_notebook_thread_stays_free_while_the_service_serves() -> None:
    with EmbeddedService() as service:

        async def fetch() -> dict[str, object]:
            async with aiohttp.ClientSession() as http, http.get(service.url + "/health") as response:
                result: dict[str, object] = await response.json()
                return result

        assert asyncio.run(fetch())["status"] == "ok"
    assert not service.is_running


def test_default_service_is_one_per_process() -> None:
    first = default_service()
    try:
        assert default_service() is first
        assert first.is_running
    finally:
        first.stop()
    assert not first.is_running
