"""Agents in separate processes: through `labkit serve`, and a peer whose process dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit import CallClient, CallState, LocalVideoStream, RemoteParticipantState, request_token
from labkit.calling import Features
from labkit.service import EmbeddedService
from labkit.stats import DiagnosticQuality

from ..helpers import Factory, eventually

ROOT = Path(__file__).resolve().parents[2]


class Child:
    """A remote agent process and its JSON event lines."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.calling.remote_agent", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def next_event(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                err = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"the agent process ended: {err[-2000:]}")
            event: dict[str, Any] = json.loads(line)
            if event["event"] == kind:
                return event
        raise AssertionError(f"no {kind!r} event within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def serve() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    match = re.search(r"(http://\S+)", process.stdout.readline())
    assert match
    yield match.group(1)
    process.terminate()
    process.wait(10)


async def test_two_agents_in_two_processes_through_labkit_serve(serve: str) -> None:
    bob = Child("--endpoint", serve, "--name", "Bob", "--accept", "--camera", "2")
    try:
        bob_id = bob.next_event("signed-in")["user_id"]
        token, _ = await request_token(serve, "alice")
        async with CallClient(serve) as client:
            alice = await client.create_call_agent(token, "Alice")
            devices = await client.get_device_manager()
            camera = LocalVideoStream((await devices.get_cameras())[0])
            call = alice.start_call([bob_id], video_options=camera)
            await call.wait_for_state("Connected", timeout=20)
            bob.next_event("connected")
            stream = call.remote_participants[0].video_streams[0]
            await stream.next_frame(timeout=10)
            await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 2, what="Bob's camera 2")
            # what Bob's process receives from Alice's: her camera 1 and her tone
            for _ in range(20):
                stats = bob.next_event("stats")
                if stats["cameras"] == [1] and stats["frames"][0] > 10 and stats["speaker_dbfs"] > -30:
                    break
            else:
                raise AssertionError(f"Bob's process did not receive Alice's media: {stats}")
            await call.hang_up()
            assert bob.next_event("ended")["code"] == 0
    finally:
        bob.stop()


async def test_a_peer_whose_process_dies_is_seen_leaving_within_5_s(service: EmbeddedService, people: Factory) -> None:
    group = str(uuid.uuid4())
    alice = await people("Alice")
    call = alice.agent.join(group)
    await call.wait_for_state("Connected")
    bob = Child("--endpoint", service.url, "--name", "Bob", "--join", group)
    try:
        bob.next_event("connected")
        (bob_seen,) = await call.wait_for_remote_participants(1, timeout=15)
        bob.process.kill()  # no goodbye: the socket just closes
        killed_at = time.monotonic()
        await bob_seen.wait_for_state(RemoteParticipantState.DISCONNECTED, timeout=5)
        assert time.monotonic() - killed_at < 5
        assert bob_seen.call_end_reason is not None
        assert (bob_seen.call_end_reason.code, bob_seen.call_end_reason.sub_code) == (410, 3100)
        assert call.remote_participants == ()
        assert call.state.value == "Connected"  # a group call goes on
    finally:
        bob.stop()


async def test_a_frozen_peer_is_seen_as_stalled_then_dropped_within_10_s(
    service: EmbeddedService, people: Factory
) -> None:
    alice = await people("Alice")
    bob = Child("--endpoint", service.url, "--name", "Bob", "--accept", "--camera", "2")
    try:
        bob_id = bob.next_event("signed-in")["user_id"]
        call = alice.agent.start_call([bob_id], video_options=await alice.camera(1))
        await call.wait_for_state("Connected", timeout=20)
        diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
        await call.remote_participants[0].video_streams[0].next_frame(timeout=10)
        await asyncio.sleep(1.0)
        assert diagnostics.network.get_latest()["network_reconnect"] is DiagnosticQuality.GOOD
        os.kill(bob.process.pid, signal.SIGSTOP)  # frozen: its sockets stay open, nothing more is sent
        frozen_at = time.monotonic()
        bad_at = None
        while call.state is not CallState.DISCONNECTED and time.monotonic() - frozen_at < 15:
            if bad_at is None and diagnostics.network.get_latest()["network_reconnect"] is DiagnosticQuality.BAD:
                bad_at = time.monotonic() - frozen_at
            await asyncio.sleep(0.1)
        ended_at = time.monotonic() - frozen_at
        assert call.state is CallState.DISCONNECTED, "the call stayed up with a frozen peer"
        assert ended_at < 10, ended_at
        assert bad_at is not None
        assert bad_at < ended_at
        reason = call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code) == (410, 3100)
        assert "Nothing arrived from Bob" in reason.message
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(bob.process.pid, signal.SIGCONT)
        bob.stop()
