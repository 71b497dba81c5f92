"""What the service allows one client: messages, invitations, tokens and connections (one source of truth).

``docs/protocol.md`` documents these numbers; ``create_app(limits=...)`` and ``labkit serve`` take others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    """Per-connection, per-address and total limits of one service."""

    messages_per_second: float = 50.0
    """Sustained rate of one agent's messages; faster senders are slowed (their frames wait), never dropped."""
    message_burst: int = 200
    """Messages one agent may send at once before the rate applies."""
    invitations_per_second: float = 5.0
    """Sustained rate of one agent's ``start-call``, ``add-participant`` and ``join``."""
    invitation_burst: int = 20
    outbox_messages: int = 1024
    """Messages queued for one agent that does not read them; past this it is disconnected (1013)."""
    tokens_per_second: float = 2.0
    """Sustained rate of ``POST /api/token`` from one client address."""
    token_burst: int = 60
    max_connections: int = 4096
    """Open TCP connections in all (HTTP and WebSocket); lowered to fit the process's file limit."""
    max_connections_per_address: int = 256
    """Open TCP connections from one client address."""
    request_head_timeout: float = 10.0
    """Seconds a new connection has to send a whole request head."""
    request_body_timeout: float = 10.0
    """Seconds a request has to send its body."""
    keepalive_timeout: float = 15.0
    """Seconds an idle keep-alive HTTP connection stays open."""


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up: the classic rate limiter."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    @property
    def tokens(self) -> float:
        """Tokens saved up at the last take (may be below zero while a sender waits)."""
        return self._tokens

    def take(self) -> float:
        """Take one token; the seconds to wait before it is really available (0.0: at once)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_take(self) -> bool:
        """Take one token if one is there now; ``False`` (and nothing taken) if not."""
        if self.take() == 0.0:
            return True
        self._tokens += 1.0
        return False
