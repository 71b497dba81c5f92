"""Drive ``gst_client.py`` (GStreamer's webrtcbin, under Debian's python3) from a test."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT = Path(__file__).with_name("gst_client.py")


def require_gstreamer() -> None:
    """Fail (not skip) with the command that installs what is missing."""
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi, websockets; gi.require_version('GstWebRTC', '1.0'); gi.require_version('Nice', '0.1');"
            "from gi.repository import Gst, GstWebRTC, Nice; Gst.init(None);"
            "assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('vp8enc')",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.fail(
            "GStreamer's webrtcbin is not usable from /usr/bin/python3; run 'make system-deps' "
            f"(.ci/debian-packages.txt lists the packages): {probe.stderr.strip()[-400:]}"
        )


class GstPeer:
    """One webrtcbin client signed in to the service; ``command`` sends it an op, returns its stats."""

    def __init__(self, process: asyncio.subprocess.Process, user_id: str) -> None:
        self.process = process
        self.user_id = user_id

    @classmethod
    async def start(cls, service_url: str, name: str = "gst", *options: str) -> GstPeer:
        process = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON,
            str(CLIENT),
            "--service",
            service_url,
            "--name",
            name,
            *options,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        if not line:
            raise AssertionError("the GStreamer client exited before signing in")
        return cls(process, json.loads(line)["userId"])

    async def command(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
        await self.process.stdin.drain()
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.process.stdout.readline(), 20))
        assert "error" not in reply, reply
        return reply

    async def stats(self) -> dict[str, Any]:
        return await self.command("stats")

    async def video_frames(self) -> float:
        """Video frames webrtcbin has decoded so far."""
        return float((await self.stats())["videoFrames"])

    async def frames_during(self, seconds: float) -> int:
        """Video frames webrtcbin decoded in the next ``seconds``."""
        before = (await self.stats())["videoFrames"]
        await asyncio.sleep(seconds)
        return int((await self.stats())["videoFrames"] - before)

    async def wait(self, check: Any, what: str, timeout: float = 10.0) -> dict[str, Any]:
        """The client's stats once ``check(stats)`` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            stats = await self.stats()
            if check(stats):
                return stats
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"GStreamer client: {what} did not hold within {timeout} s: {stats}")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b'{"op": "quit"}\n')
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
