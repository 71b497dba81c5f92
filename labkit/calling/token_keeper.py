"""Keeping the service's copy of the token fresh. ACS: ``refreshProactively`` of ``AzureCommunicationTokenCredential``.

A ``TokenKeeper`` sleeps (on its ``Clock``) until ``refresh_before`` the token's expiry,
gets a fresh token from the credential's refresher and sends it to the service. A refresher
that fails, or gives a token that expires no later, is tried again after ``RETRY_SECONDS``:
the agent carries on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..clock import Clock
from .token_credential import TokenCredential

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
"""How soon a failed token refresh is tried again."""


class TokenKeeper:
    """Refreshes ``credential`` ahead of its expiry and hands each fresh token to ``send`` (engine thread)."""

    def __init__(
        self, credential: TokenCredential, clock: Clock, send: Callable[[str], Awaitable[None]], who: str = ""
    ) -> None:
        self.credential = credential
        self.clock = clock
        self._send = send
        self._who = who
        self._task: asyncio.Task[None] | None = None
        self.refreshed = 0
        """Fresh tokens handed to the service so far."""

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.credential.can_refresh and not self.is_running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="labkit-token-keeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        credential, clock = self.credential, self.clock
        while credential.can_refresh and (expires := credential.expires_on) is not None:
            await clock.sleep(max(0.0, (expires - clock.now() - credential.refresh_before).total_seconds()))
            try:
                token = await credential.get_token(now=clock.now())
                renewed = credential.expires_on
                if renewed is None or renewed <= expires:
                    raise ValueError("the refresher gave a token that expires no later than the one before")
                await self._send(token)
                self.refreshed += 1
                logger.info("%s: token refreshed; it now expires at %s", self._who, renewed.isoformat())
            except Exception as error:  # a refresher that fails must not end the agent; it retries
                logger.warning("%s: the token could not be refreshed (%s); trying again soon", self._who, error)
                await clock.sleep(RETRY_SECONDS)
