from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from labkit import CallAgent, CallClient, DeviceManager, LocalVideoStream, TokenCredential
from labkit.protocol.signaling_client import request_token
from labkit.service import EmbeddedService


@dataclass
class Person:
    """One test user: a call client, its signed-in agent and its devices."""

    name: str
    client: CallClient
    agent: CallAgent
    devices: DeviceManager

    async def camera(self, number: int = 1) -> LocalVideoStream:
        return LocalVideoStream((await self.devices.get_cameras())[number - 1])

    def speaker_level(self) -> float:
        return self.devices.speaker_output().level_dbfs()


Factory = Callable[..., Awaitable[Person]]


@pytest.fixture
async def people(service: EmbeddedService) -> AsyncIterator[Factory]:
    """Make signed-in people on the test's service; all are disposed after the test."""
    made: list[Person] = []

    async def make(name: str, **agent_options: object) -> Person:
        token, _ = await request_token(service.url, name.lower())
        client = CallClient(service.url)
        agent = await client.create_call_agent(TokenCredential(token), name, **agent_options)  # type: ignore[arg-type]
        person = Person(name, client, agent, await client.get_device_manager())
        made.append(person)
        return person

    yield make
    for person in made:
        await person.client.dispose()


async def eventually(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait (bounded) for ``condition()`` to hold."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.05)


async def frames_during(stream: object, seconds: float) -> int:
    """How many frames ``stream`` (a RemoteVideoStream) received in the next ``seconds``."""
    before = stream.frames_received  # type: ignore[attr-defined]
    await asyncio.sleep(seconds)
    return int(stream.frames_received - before)  # type: ignore[attr-defined]


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "labkit-engine"]
