"""``labkit serve`` as a real process: it serves, logs each request and stops cleanly on signals."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from ..acs_identity_standin import write_self_signed_cert
from ..agent_socket import AgentSocket, new_call_id


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"labkit service on (https?://\S+)", line)
    assert match, f"unexpected first line {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
    return process, match.group(1)


@pytest.fixture
def serve() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process, url = start_serve()
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait(5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serve_routes_calls_logs_requests_and_stops_on_signal(
    serve: tuple[subprocess.Popen[str], str], sig: signal.Signals
) -> None:
    process, url = serve
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
        assert (await response.json())["status"] == "ok"
    alice = await AgentSocket.signed_in(url, "Alice")
    bob = await AgentSocket.signed_in(url, "Bob")
    await alice.send(type="start-call", callId=new_call_id(), participants=[bob.user_id])
    await alice.expect("roster")
    await bob.expect("incoming-call")
    process.send_signal(sig)
    assert process.wait(10) == 0
    for agent in (alice, bob):
        await agent.close()
    stdout = process.stdout.read() if process.stdout else ""
    stderr = process.stderr.read() if process.stderr else ""
    assert "shutting down" in stdout
    assert re.search(r'"POST /api/token HTTP/1\.1" 200', stderr), stderr
    assert re.search(r'"GET /health HTTP/1\.1" 200', stderr), stderr
    assert "signed in" in stderr
    assert "Traceback" not in stderr


def test_serve_on_a_busy_port_says_so() -> None:
    process, url = start_serve()
    try:
        port = url.rsplit(":", 1)[1]
        busy = subprocess.run(
            [sys.executable, "-m", "labkit", "serve", "--port", port], capture_output=True, text=True, timeout=30
        )
        assert busy.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        process.terminate()
        process.wait(10)


async def test_serve_over_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = write_self_signed_cert(tmp_path)
    process, url = start_serve("--certfile", str(cert), "--keyfile", str(key))
    try:
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/", ssl=trust) as response:
                assert response.status == 200
                assert "labkit calling" in await response.text()  # the web app, over HTTPS
            async with http.ws_connect(url.replace("https", "wss") + "/ws", ssl=trust) as ws:
                await ws.send_json({"type": "ping"})
                reply = await ws.receive_json(timeout=5)
                assert reply["code"] == "not-signed-in"  # the real protocol, over WSS
    finally:
        process.terminate()
        process.wait(10)


def test_serve_refuses_a_bad_certificate_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate")
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "--certfile", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"cannot use the certificate {bad}" in result.stderr
