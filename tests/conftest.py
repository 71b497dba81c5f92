from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from labkit import CallClient, TokenCredential
from labkit.identity import LocalIdentityClient
from labkit.media.ice import IceMode, set_ice_mode
from labkit.protocol.signaling_client import request_token
from labkit.service import EmbeddedService, ServiceLimits, SfuConfiguration, start_service

from . import ast_parse_guard
from .agent_socket import AgentSocket
from .helpers import Factory, Person

ast_parse_guard.install()  # before any test fails: pytest parses sources to report failures
set_ice_mode(IceMode.LOOPBACK)  # every test keeps ICE on 127.0.0.1, raw aiortc peers included

TEST_LIMITS = ServiceLimits(token_burst=100_000)
"""The defaults, but tests from one address may mint many tokens (tests of the token rate use the defaults)."""


@pytest.fixture
def identity() -> LocalIdentityClient:
    return LocalIdentityClient()


@pytest.fixture
def service(identity: LocalIdentityClient) -> Iterator[EmbeddedService]:
    """A real embedded service on a free loopback port, stopped after the test."""
    before = set(threading.enumerate())
    svc = start_service(identity=identity, limits=TEST_LIMITS)
    yield svc
    svc.stop()
    leaked = [t for t in set(threading.enumerate()) - before if t.name == "labkit-service"]
    assert not leaked, "the service thread leaked"


@pytest.fixture
async def alice(service: EmbeddedService) -> AsyncIterator[AgentSocket]:
    agent = await AgentSocket.signed_in(service.url, "Alice")
    yield agent
    await agent.close()


@pytest.fixture
async def bob(service: EmbeddedService) -> AsyncIterator[AgentSocket]:
    agent = await AgentSocket.signed_in(service.url, "Bob")
    yield agent
    await agent.close()


@pytest.fixture
async def carol(service: EmbeddedService) -> AsyncIterator[AgentSocket]:
    agent = await AgentSocket.signed_in(service.url, "Carol")
    yield agent
    await agent.close()


async def people_of(url: str) -> AsyncIterator[Factory]:
    """Make signed-in people on the service at ``url``; all are disposed at the end."""
    made: list[Person] = []

    async def make(name: str, **agent_options: object) -> Person:
        token, _ = await request_token(url, name.lower())
        client = CallClient(url)
        agent = await client.create_call_agent(TokenCredential(token), name, **agent_options)  # type: ignore[arg-type]
        person = Person(name, client, agent, await client.get_device_manager())
        made.append(person)
        return person

    yield make
    for person in made:
        await person.client.dispose()


@pytest.fixture
async def people(service: EmbeddedService) -> AsyncIterator[Factory]:
    """Make signed-in people on the test's service; all are disposed after the test."""
    async for make in people_of(service.url):
        yield make


@pytest.fixture
def sfu_above() -> int:
    """Group calls larger than this go through Janus (0: every group call); a test module may override it."""
    return 0


@pytest.fixture
def sfu_service(identity: LocalIdentityClient, sfu_above: int) -> Iterator[EmbeddedService]:
    """A real embedded service with a real Janus of its own (Debian's ``janus``), stopped after the test."""
    svc = start_service(identity=identity, limits=TEST_LIMITS, sfu=SfuConfiguration(above=sfu_above))
    yield svc
    svc.stop()


@pytest.fixture
async def sfu_people(sfu_service: EmbeddedService) -> AsyncIterator[Factory]:
    """Like ``people``, on the service with an SFU."""
    async for make in people_of(sfu_service.url):
        yield make
