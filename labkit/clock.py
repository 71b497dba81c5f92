"""Time, as a seam: labkit asks a ``Clock`` for the time and for sleeps (labkit).

``SYSTEM_CLOCK`` is the real one. ``ManualClock`` is moved by hand, so that token expiry
and refresh can be tested in milliseconds (as httpx's ``MockTransport`` stands in for the
network).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time and sleeping."""

    def now(self) -> datetime:
        """The current UTC time."""

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` of this clock's time."""


class SystemClock:
    """The machine's clock and ``asyncio.sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when ``advance()`` is called; sleepers wake when their time comes."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting."""
        return sum(not future.done() for _, future in self._sleepers)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # no time to wait: just let others run
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=max(0.0, seconds)), future))
        try:
            await future
        finally:
            self._sleepers = [(at, f) for at, f in self._sleepers if f is not future]

    async def advance(self, seconds: float) -> None:
        """Move the time on, wake every sleeper whose time has come, and let them run."""
        self._now += timedelta(seconds=seconds)
        for at, future in list(self._sleepers):
            if at <= self._now and not future.done():
                future.set_result(None)
        for _ in range(5):  # let the woken tasks run to their next await
            await asyncio.sleep(0)
