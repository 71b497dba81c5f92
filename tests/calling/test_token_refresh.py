"""A call agent with a token refresher keeps the service's copy of its token fresh."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from labkit import CallClient, TokenCredential
from labkit.identity import LocalIdentityClient
from labkit.service import EmbeddedService

from ..helpers import Factory, eventually


async def test_a_refreshed_agent_still_calls_after_its_first_token_expired(
    service: EmbeddedService, identity: LocalIdentityClient, people: Factory
) -> None:
    bob = await people("Bob")
    user = identity.create_user()
    refreshed: list[str] = []

    async def refresh() -> str:
        refreshed.append(identity.get_token(user, ["voip"], token_expires_in=timedelta(hours=1)).token)
        return refreshed[-1]

    short = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=6))
    client = CallClient(service.url)
    credential = TokenCredential(short.token, refresh, refresh_before=timedelta(seconds=3))
    agent = await client.create_call_agent(credential, "Alice")
    assert refreshed == []  # signed in with the short token
    await eventually(lambda: len(refreshed) == 1, timeout=6, what="the refresh, 3 s before the expiry")
    await asyncio.sleep(max(0.0, (short.expires_on - datetime.now(UTC)).total_seconds()) + 0.5)
    call = agent.start_call([bob.agent.identifier])
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    assert len(refreshed) == 1  # the fresh token lasts an hour: no second refresh yet
    await call.hang_up()
    await client.dispose()
    assert not agent._token_keeper.is_running  # noqa: SLF001  (a leak check: the refresh task is gone)


async def test_without_a_refresher_the_expired_token_is_refused(
    service: EmbeddedService, identity: LocalIdentityClient, people: Factory
) -> None:
    bob = await people("Bob")
    short = identity.get_token(identity.create_user(), ["voip"], token_expires_in=timedelta(seconds=2))
    client = CallClient(service.url)
    agent = await client.create_call_agent(TokenCredential(short.token), "Alice")
    await asyncio.sleep(2.5)
    call = agent.start_call([bob.agent.identifier])
    await call.wait_for_state("Disconnected")
    assert call.call_end_reason is not None
    assert "expired" in (call.call_end_reason.message or "")
    await client.dispose()


async def test_a_failing_refresher_is_logged_and_retried(
    service: EmbeddedService, identity: LocalIdentityClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = identity.create_user()

    attempts = 0

    def broken() -> str:
        nonlocal attempts
        attempts += 1
        raise OSError("the token service is down")

    short = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=6))
    client = CallClient(service.url)
    with caplog.at_level(logging.WARNING, logger="labkit.calling.token_keeper"):
        credential = TokenCredential(short.token, broken, refresh_before=timedelta(seconds=3))
        agent = await client.create_call_agent(credential, "Alice")
        assert attempts == 0
        await eventually(lambda: attempts >= 1, what="a refresh attempt")
        await eventually(lambda: "the token service is down" in caplog.text, what="the warning")
    assert agent.connection_state.value == "Connected"  # the agent carries on
    await client.dispose()
    assert not agent._token_keeper.is_running  # noqa: SLF001  (a leak check: the refresh task is gone)
