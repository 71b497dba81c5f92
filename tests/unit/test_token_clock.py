"""Token expiry and refresh against a clock that moves by hand (no real waiting)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import jwt
import pytest

from labkit.calling.token_credential import TokenCredential
from labkit.calling.token_keeper import RETRY_SECONDS, TokenKeeper
from labkit.clock import ManualClock


def token_expiring(clock: ManualClock, seconds: float, user: str = "alice") -> str:
    expires = clock.now() + timedelta(seconds=seconds)
    return jwt.encode({"sub": user, "exp": int(expires.timestamp())}, "k" * 32, algorithm="HS256")


async def test_a_token_is_expired_only_once_its_time_has_come() -> None:
    clock = ManualClock()
    credential = TokenCredential(token_expiring(clock, 60))
    assert not credential.is_expired(now=clock.now())
    await clock.advance(59)
    assert not credential.is_expired(now=clock.now())
    assert credential.is_expired(timedelta(seconds=30), now=clock.now())  # within the refresh margin
    await clock.advance(1)
    assert credential.is_expired(now=clock.now())


async def test_the_refresher_runs_only_within_the_margin_before_expiry() -> None:
    clock = ManualClock()
    fresh: list[str] = []

    def refresh() -> str:
        fresh.append(token_expiring(clock, 3600))
        return fresh[-1]

    first = token_expiring(clock, 120)
    credential = TokenCredential(first, refresh, refresh_before=timedelta(seconds=30))
    assert await credential.get_token(now=clock.now()) == first
    await clock.advance(89)
    assert await credential.get_token(now=clock.now()) == first
    await clock.advance(2)  # 29 s before expiry
    assert await credential.get_token(now=clock.now()) == fresh[0]
    assert len(fresh) == 1


async def test_the_manual_clock_wakes_sleepers_when_their_time_comes() -> None:
    clock = ManualClock()
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    tasks = [asyncio.ensure_future(sleeper(s)) for s in (10, 30)]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    await clock.advance(9.9)
    assert woke == []
    await clock.advance(0.1)
    assert woke == [10]
    await clock.advance(25)
    assert woke == [10, 30]
    await asyncio.gather(*tasks)


async def test_the_keeper_sends_a_fresh_token_before_expiry_and_retries_a_failed_refresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    sent: list[str] = []
    failures = 1

    def refresh() -> str:
        nonlocal failures
        if failures:
            failures -= 1
            raise OSError("the token service is down")
        return token_expiring(clock, 3600)

    async def send(token: str) -> None:
        sent.append(token)

    credential = TokenCredential(token_expiring(clock, 120), refresh, refresh_before=timedelta(seconds=30))
    keeper = TokenKeeper(credential, clock, send, "Alice")
    keeper.start()
    await clock.advance(89)
    assert sent == []
    await clock.advance(1)  # 30 s before expiry: the refresher fails
    assert sent == []
    assert "the token service is down" in caplog.text
    await clock.advance(RETRY_SECONDS)  # tried again
    assert len(sent) == 1
    assert sent[0] == credential.token
    assert keeper.refreshed == 1
    await keeper.stop()
    assert not keeper.is_running
    assert clock.sleepers == 0
