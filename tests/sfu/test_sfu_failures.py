"""When the SFU fails: Janus killed mid-call, and configurations labkit serve refuses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from labkit import CallState
from labkit.service import EmbeddedService
from labkit.service.sfu import JanusProcess

from ..helpers import Factory, state_of

pytestmark = pytest.mark.slow


async def test_janus_killed_mid_call_ends_every_call_with_a_reason_naming_the_sfu(
    sfu_people: Factory, sfu_service: EmbeddedService
) -> None:
    members = [await sfu_people(name) for name in ("Ann", "Ben", "Cat")]
    group = str(uuid.uuid4())
    calls = [person.agent.join(group) for person in members]
    for call in calls:
        await call.wait_for_remote_participants(2, timeout=15)
        await call.remote_participants[0].wait_for_state("Connected")
    assert sfu_service.sfu is not None
    process = sfu_service.sfu.instances[0].process
    assert process is not None
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    for call in calls:
        await call.wait_for_state(CallState.DISCONNECTED, timeout=5)
        reason = call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code) == (503, 3102)
        assert "SFU (janus)" in reason.message, reason.message
        assert "exited" in reason.message
    print(f"\nevery call ended {time.monotonic() - killed:.2f} s after Janus was killed")
    # the service stays up: its health check answers, and a 1:1 call (a mesh) still connects
    async with aiohttp.ClientSession() as http, http.get(f"{sfu_service.url}/health") as reply:
        assert reply.status == 200
    one = members[0].agent.start_call([members[1].agent.identifier])
    other = await (await members[1].agent.wait_for_incoming_call(10)).accept()
    await one.wait_for_state(CallState.CONNECTED, timeout=10)
    assert state_of(other) is CallState.CONNECTED
    await one.hang_up()


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "-q", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_serve_without_janus_installed_says_how_to_install_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with Python but no janus
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    done = serve("--sfu", "janus", env={**os.environ, "PATH": str(bin_dir)})
    assert done.returncode == 2, done.stderr
    assert "Janus is not installed" in done.stderr
    assert "apt-get install janus" in done.stderr


@pytest.fixture
async def running_janus() -> AsyncIterator[JanusProcess]:
    janus = JanusProcess()
    await janus.start()
    yield janus
    await janus.stop()


def test_serve_with_a_wrong_janus_secret_exits_with_a_clear_message(running_janus: JanusProcess) -> None:
    done = serve("--sfu-url", running_janus.url, "--sfu-secret", "not-the-secret")
    assert done.returncode == 2, done.stderr
    assert "Janus refused create: Unauthorized request (wrong or missing secret/token) (403)" in done.stderr
    assert "--sfu-secret" in done.stderr


def test_serve_with_the_right_secret_of_an_existing_janus_starts(running_janus: JanusProcess) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "-q", "--sfu-url", running_janus.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LABKIT_SFU_SECRET": running_janus.api_secret},
    )
    try:
        assert process.stdout is not None
        assert "labkit service on http://" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    assert process.returncode == 0


def test_serve_with_the_janus_port_taken_exits_with_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--sfu", "janus", "--sfu-port", str(port))
    assert done.returncode == 2, done.stderr
    assert f"Port {port} on 127.0.0.1 is taken" in done.stderr


def test_serve_refuses_sfu_options_that_do_not_fit() -> None:
    done = serve("--sfu-above", "3")
    assert done.returncode == 2
    assert "need an SFU" in done.stderr
    done = serve("--sfu", "janus", "--sfu-above", "-1")
    assert done.returncode == 2
    assert "sfu_above must be 0" in done.stderr
    done = serve("--sfu-url", "127.0.0.1:8088")
    assert done.returncode == 2
    assert "Janus's HTTP API" in done.stderr
