"""Hostile clients, in one place: a flooder, a fuzzer, idle and slow HTTP clients.

Every one of them sends only to loopback addresses, is bounded in count and time, and stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import aiohttp

from .agent_socket import AgentSocket


class Drain:
    """Reads everything an agent socket receives in the background, counting messages by type."""

    def __init__(self, agent: AgentSocket) -> None:
        self.agent = agent
        self.counts: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self._task = asyncio.get_running_loop().create_task(self._read())

    @property
    def is_open(self) -> bool:
        return not self._task.done() and not self.agent.ws.closed

    async def _read(self) -> None:
        async for frame in self.agent.ws:
            if frame.type is aiohttp.WSMsgType.TEXT:
                message = json.loads(frame.data)
                self.counts[message["type"]] += 1
                if message["type"] == "error":
                    self.errors.append(message)
        self.closed_with = self.agent.ws.close_code

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Flood:
    """Sends ``frames`` as fast as the socket takes them, in the background, until stopped or done."""

    def __init__(self, agent: AgentSocket, frames: Iterable[str]) -> None:
        self.sent = 0
        self._task = asyncio.get_running_loop().create_task(self._send(agent, frames))

    async def _send(self, agent: AgentSocket, frames: Iterable[str]) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            for frame in frames:
                await agent.ws.send_str(frame)
                self.sent += 1

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def fuzzed_frames(count: int, seed: int = 7, call_id: str = "", user_id: str = "") -> Iterator[str]:
    """``count`` hostile frames: broken JSON, wrong types, huge and deep values, real types with bad fields."""
    rng = random.Random(seed)
    types = ["sign-in", "start-call", "join", "accept", "reject", "hang-up", "signal", "update-state", "ping", "x"]
    for n in range(count):
        pick = rng.randrange(8)
        if pick == 0:
            yield "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(1, 80)))
        elif pick == 1:
            yield "[" * rng.randrange(500, 5000)
        elif pick == 2:
            yield json.dumps({"type": rng.choice(types), "ref": f"f{n}", "callId": rng.choice([call_id, "x", 5])})
        elif pick == 3:
            yield json.dumps({"type": "signal", "callId": call_id, "to": user_id, "payload": {"kind": "fax"}})
        elif pick == 4:
            yield json.dumps({"type": "update-state", "callId": call_id, "isMuted": "maybe", "ref": "\ud800"})
        elif pick == 5:
            yield '{"type": "ping", "ref": ' + '{"a":' * rng.randrange(100, 3000) + "1" + "}" * 3000
        elif pick == 6:
            yield json.dumps({"type": rng.choice(types), "displayName": "x" * rng.randrange(200, 5000)})
        else:
            yield json.dumps({"type": "hang-up", "callId": f"00000000-0000-0000-0000-{n:012d}"})


async def idle_connections(port: int, count: int, sources: int = 32) -> list[asyncio.StreamWriter]:
    """``count`` TCP connections that never send a byte, spread over ``sources`` loopback addresses."""
    writers = []
    for n in range(count):
        source = f"127.0.0.{2 + n % sources}"
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writers.append(writer)
    return writers


async def slow_request(port: int, source: str, seconds: float, byte_every: float = 1.0) -> bool:
    """A request head trickled one byte every ``byte_every`` s for up to ``seconds``; True if the service hung up."""
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        for byte in head:
            if loop.time() > deadline:
                return False
            writer.write(bytes([byte]))
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(1), byte_every)
                return True  # an answer (408) or the end of the stream: the service hung up
        return False
    except (ConnectionError, OSError):
        return True
    finally:
        writer.close()


def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
