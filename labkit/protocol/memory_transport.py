"""``MemoryTransport``: a signaling transport in memory, for tests (labkit; as httpx's ``MockTransport``).

A call talks to the service through a ``SignalingTransport`` (``CallHost.transport``).
This one hands each message to ``handler``, which plays the service: it returns the reply
to a request (or raises the ``LabkitError`` the service would answer with). Every message
is kept in ``sent``. Set ``is_connected`` to False to play a service outage.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from .messages import Message

Handler = Callable[[Message], Message | Awaitable[Message | None] | None]


class MemoryTransport:
    """Messages go to ``handler``; nothing leaves the process."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.sent: list[Message] = []
        self.is_connected = True

    async def request(self, message: Message, timeout: float = 10.0) -> Message:
        reply = await self._handle(message)
        if reply is None:
            raise TimeoutError(f"the in-memory service gave no reply to {type(message).__name__}")
        return reply

    async def send(self, message: Message) -> None:
        await self._handle(message)

    async def _handle(self, message: Message) -> Message | None:
        if not self.is_connected:
            raise ConnectionError("the in-memory transport is disconnected")
        self.sent.append(message)
        if self.handler is None:
            return None
        reply = self.handler(message)
        if inspect.isawaitable(reply):
            reply = await reply
        return reply

    def sent_of(self, kind: type[Message]) -> list[Message]:
        """The messages of one type sent so far."""
        return [m for m in self.sent if isinstance(m, kind)]
