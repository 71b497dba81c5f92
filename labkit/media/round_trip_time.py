"""Round-trip time from RTCP reports (RFC 3550 §6.4.1; W3C ``RTCRemoteInboundRtpStreamStats``).

A sender stamps each sender report (SR); the receiver's next report block echoes the
stamp (LSR) and how long it held it (DLSR). When that block arrives,
``round trip = now - when the SR left - DLSR``.

W3C's ``roundTripTime`` is the latest such measurement, and ``totalRoundTripTime`` over
``roundTripTimeMeasurements`` is the average. aiortc's ``RTCRtpSender`` reports a moving
average instead (each new sample weighs 0.15), so one report that a busy computer handled
late raises its ``roundTripTime`` for ten seconds or more. ``PeerConnection`` measures
each sender here, and its ``getStats()`` reports the latest as ``roundTripTime``.
"""

from __future__ import annotations

from dataclasses import dataclass

DLSR_UNITS_PER_SECOND = 65536
"""DLSR counts in 1/65536 s (RFC 3550 §6.4.1)."""


@dataclass(slots=True)
class RoundTripTime:
    """One RTP sender's round-trip measurements (W3C ``roundTripTime`` and its totals), in seconds."""

    latest: float | None = None
    total: float = 0.0
    measurements: int = 0

    def on_report_block(self, lsr: int, dlsr: int, sent_lsr: int | None, sent_at: float | None, now: float) -> None:
        """A report block about this sender arrived at ``now``; ``sent_lsr`` and ``sent_at`` are the newest SR's.

        A block that echoes an older SR, or none (LSR and DLSR zero), measures nothing.
        """
        if sent_lsr is None or sent_at is None or lsr != sent_lsr or dlsr == 0:
            return
        sample = max(0.0, now - sent_at - dlsr / DLSR_UNITS_PER_SECOND)
        self.latest = sample
        self.total += sample
        self.measurements += 1

    @property
    def average(self) -> float | None:
        """``totalRoundTripTime / roundTripTimeMeasurements``."""
        return self.total / self.measurements if self.measurements else None


__all__ = ["DLSR_UNITS_PER_SECOND", "RoundTripTime"]
