"""ICE connectivity checks, each timed: what RFC 8445's checks and RFC 7675's consent look like (labkit).

aiortc (through aioice) runs the checks but keeps no record of them and measures no
round-trip time. Each STUN binding request a connection sends is logged here: when it
left, when its answer came (or that none did), between which addresses, and whether it
was a plain check, a nomination (``USE-CANDIDATE``) or a consent refresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

CheckKind = Literal["check", "nomination", "consent"]
CheckResult = Literal["success", "failure", "pending"]
MAX_CHECKS = 2_000
"""Checks kept per connection: consent runs every 5 s, so this is hours of a call."""


@dataclass(slots=True)
class IceCheck:
    """One STUN binding request from ``local`` to ``remote`` and its outcome."""

    start: float
    """``time.monotonic()`` when the request left."""
    local: tuple[str, int]
    remote: tuple[str, int]
    kind: CheckKind
    end: float | None = None
    result: CheckResult = "pending"
    error: str = ""

    @property
    def rtt_ms(self) -> float | None:
        """The round trip in milliseconds, for a check that was answered."""
        return (self.end - self.start) * 1000 if self.end is not None and self.result == "success" else None


class IceCheckLog:
    """The checks of one ICE connection, oldest first (bounded)."""

    def __init__(self) -> None:
        self.checks: deque[IceCheck] = deque(maxlen=MAX_CHECKS)

    def begin(self, check: IceCheck) -> IceCheck:
        self.checks.append(check)
        return check

    def latest_rtt_ms(self) -> float | None:
        """The round trip of the newest answered check or consent: W3C's ``currentRoundTripTime``."""
        for check in reversed(self.checks):
            if check.rtt_ms is not None:
                return check.rtt_ms
        return None
