"""Caps on TCP connections, in total and per client address, and a deadline for each request head.

aiohttp by itself keeps a connection that never sends a byte, or trickles its request head,
for good; enough of them exhaust the process's files and the service stops answering.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .limits import ServiceLimits

logger = logging.getLogger(__name__)

FILE_HEADROOM = 128
"""Files kept free for everything else (aiortc sockets, logs, the listening socket) when capping connections."""
LOG_EVERY = 10.0
"""Seconds between two log lines about refused or timed-out connections (counts are summed)."""


LISTEN_BACKLOG = 1024
"""Connections the kernel completes before the service accepts them (at most); aiohttp's 128 fills under a
burst of connects, and a newcomer's SYN then waits a second."""


def _file_limit() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def listen_backlog() -> int:
    """The listen backlog: asyncio accepts up to a backlog's worth of sockets at once, each a file, before
    the guard can close any; so it takes at most a quarter of the file limit."""
    files = _file_limit()
    return LISTEN_BACKLOG if files is None else max(16, min(LISTEN_BACKLOG, files // 4))


def connection_cap(limits: ServiceLimits) -> int:
    """``limits.max_connections``, lowered to fit the open-file limit beside the backlog and the headroom."""
    files = _file_limit()
    if files is None:
        return limits.max_connections
    return max(16, min(limits.max_connections, files - FILE_HEADROOM - listen_backlog()))


class ConnectionGuard:
    """Counts open connections; refuses, evicts and times out the ones beyond the limits (event loop only)."""

    def __init__(self, limits: ServiceLimits) -> None:
        self.limits = limits
        self.cap = connection_cap(limits)
        self.per_address: defaultdict[str, int] = defaultdict(int)
        self.open = 0
        self._waiting: OrderedDict[_GuardedProtocol, None] = OrderedDict()
        """Connections that have not yet sent a whole request head, oldest first."""
        self._events: defaultdict[str, int] = defaultdict(int)
        self._logged_at = -LOG_EVERY

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(make_handler(), self)

    # --- what the protocols report ----------------------------------------------------------

    def admit(self, protocol: _GuardedProtocol) -> bool:
        """A new connection: ``False`` if it must be closed at once."""
        address = protocol.address
        if self.per_address[address] >= self.limits.max_connections_per_address:
            self._note(f"over {self.limits.max_connections_per_address} connections from one address ({address})")
            return False
        if self.open >= self.cap:
            if not self._waiting:
                self._note(f"over {self.cap} connections in all")
                return False
            oldest = next(iter(self._waiting))  # make room: the oldest connection that has sent no request yet
            self._note(f"over {self.cap} connections in all: closed the oldest idle one")
            oldest.drop()
        self.open += 1
        self.per_address[address] += 1
        self._waiting[protocol] = None
        return True

    def head_received(self, protocol: _GuardedProtocol) -> None:
        self._waiting.pop(protocol, None)

    def timed_out(self, protocol: _GuardedProtocol) -> None:
        self._note(f"no request head within {self.limits.request_head_timeout:g} s")
        protocol.drop()

    def gone(self, protocol: _GuardedProtocol) -> None:
        self._waiting.pop(protocol, None)
        self.open -= 1
        self.per_address[protocol.address] -= 1
        if self.per_address[protocol.address] <= 0:
            del self.per_address[protocol.address]

    def _note(self, event: str) -> None:
        """Count ``event``; log the counts at most once every ``LOG_EVERY`` seconds (never in a tight loop)."""
        self._events[event] += 1
        now = asyncio.get_running_loop().time()
        if now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            summary = "; ".join(f"{n} x {what}" for what, n in self._events.items())
            self._events.clear()
            logger.warning("connections closed by the service's limits: %s", summary)


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's request handler, seen through the guard: every call is passed on."""

    def __init__(self, handler: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.handler = handler
        self.guard = guard
        self.address = "?"
        self.transport: asyncio.Transport | None = None
        self._admitted = False
        self._handler_started = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer: Any = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if not self.guard.admit(self):
            transport.abort()
            return
        self._admitted = True
        loop = asyncio.get_running_loop()
        self._head_timer = loop.call_later(self.guard.limits.request_head_timeout, self.guard.timed_out, self)
        self._handler_started = True
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is not None:
            seen = self._tail + data
            if b"\r\n\r\n" in seen:
                self._head_timer.cancel()
                self._head_timer = None
                self.guard.head_received(self)
            else:
                self._tail = seen[-3:]
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._admitted:
            self._admitted = False
            self.guard.gone(self)
        if self.transport is not None and self._handler_started:
            self._handler_started = False
            self.handler.connection_lost(exc)

    def drop(self) -> None:
        """Close now, and stop counting this connection at once (its ``connection_lost`` comes later)."""
        if self._admitted:
            self._admitted = False
            self.guard.gone(self)
        if self.transport is not None:
            self.transport.abort()


class GuardedAppRunner(web.AppRunner):
    """An ``AppRunner`` whose sites accept connections through a ``ConnectionGuard``."""

    def __init__(self, app: web.Application, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.guard = guard

    @property
    def server(self) -> Any:
        handler_factory = super().server
        if handler_factory is None:
            return None
        return self.guard.protocol_factory(handler_factory)
