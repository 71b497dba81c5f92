"""One call agent's WebSocket connection to the service, with a bounded outbound queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import web

from ..identity import TokenClaims
from ..protocol.messages import Message

logger = logging.getLogger(__name__)

THROTTLE_NOTICE_SECONDS = 10.0
"""An agent that is slowed down is told so at most once in this many seconds."""


class AgentConnection:
    """Sends to one agent in order without ever blocking the sender.

    ``send`` only queues; a writer task drains the queue. An agent that falls
    ``outbox_limit`` messages behind (it does not read) is closed, so it cannot hold up other calls.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        remote: str,
        outbox_limit: int = 1024,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        self._transport = transport
        self.remote = remote
        self.claims: TokenClaims | None = None
        self.display_name = ""
        self.can_roll_back = False
        self.outbox_limit = outbox_limit
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(outbox_limit)
        self._overflowed = False
        self._throttle_noticed_at = -THROTTLE_NOTICE_SECONDS
        self._writer = asyncio.get_running_loop().create_task(self._write(), name=f"labkit-agent-writer {remote}")
        self._closing: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.claims.user.id if self.claims else ""

    @property
    def is_signed_in(self) -> bool:
        return self.claims is not None

    def send(self, message: Message) -> None:
        """Queue ``message``; drops the connection if the agent is hopelessly behind."""
        if self._writer.done() or self._overflowed:
            return
        try:
            self._outbox.put_nowait(json.dumps(message.to_wire(), separators=(",", ":")))
        except asyncio.QueueFull:
            self._overflowed = True  # logged once: what follows is dropped without a word
            logger.warning("agent %s is %d messages behind; disconnecting it", self.user_id, self.outbox_limit)
            self._writer.cancel()
            if self._transport is not None:
                # it does not read, so a closing handshake would wait on it too: drop the connection
                self._transport.abort()
            else:
                self.close_soon(1013, "too slow")

    def should_notice_throttling(self) -> bool:
        """True at most once every ``THROTTLE_NOTICE_SECONDS``: whether to tell the agent it is slowed down."""
        now = asyncio.get_running_loop().time()
        if now - self._throttle_noticed_at < THROTTLE_NOTICE_SECONDS:
            return False
        self._throttle_noticed_at = now
        return True

    def close_soon(self, code: int, reason: str) -> None:
        """Start closing without waiting (from code that cannot await)."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self.close(code, reason))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued, then close the WebSocket."""
        if not self._writer.done():
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), 2.0)
            self._writer.cancel()
        await self.ws.close(code=code, message=reason.encode()[:120])

    async def _write(self) -> None:
        while (text := await self._outbox.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
