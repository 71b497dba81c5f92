"""A labkit service with a real Janus of its own (Debian's ``janus``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from labkit import CallClient, LocalIdentityClient, TokenCredential, request_token
from labkit.service import EmbeddedService, SfuConfiguration, start_service

from ..conftest import TEST_LIMITS
from ..helpers import Factory, Person


@pytest.fixture
def sfu_above() -> int:
    """Group calls larger than this go through Janus (0: every group call); a test may override it."""
    return 0


@pytest.fixture
def sfu_service(identity: LocalIdentityClient, sfu_above: int) -> Iterator[EmbeddedService]:
    svc = start_service(identity=identity, limits=TEST_LIMITS, sfu=SfuConfiguration(above=sfu_above))
    yield svc
    svc.stop()


@pytest.fixture
async def sfu_people(sfu_service: EmbeddedService) -> AsyncIterator[Factory]:
    made: list[Person] = []

    async def make(name: str, **agent_options: object) -> Person:
        token, _ = await request_token(sfu_service.url, name.lower())
        client = CallClient(sfu_service.url)
        agent = await client.create_call_agent(TokenCredential(token), name, **agent_options)  # type: ignore[arg-type]
        person = Person(name, client, agent, await client.get_device_manager())
        made.append(person)
        return person

    yield make
    for person in made:
        await person.client.dispose()
