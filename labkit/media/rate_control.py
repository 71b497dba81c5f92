"""``RateControl``: aiortc's receive-side bandwidth estimate (REMB, GCC AIMD), forgetting a capacity that is gone.

aiortc's ``AimdRateControl`` remembers the throughput at the last overuse as the link's
capacity and, near it, raises its estimate additively (some 20 kbit/s a second at 200
kbit/s). When a bandwidth cap lifts, nothing tells it: the sender keeps to the estimate,
so the throughput never rises enough to clear the memory, and video took some 25 s to
climb back from 250 to 600 kbit/s. libwebrtc probes the path for this (padding bursts);
a receive-side estimate cannot. Here the capacity is forgotten once ``CAPACITY_MEMORY_MS``
pass without overuse, and the estimate grows by 8% a second again, as GCC does far from
the capacity; and, as libwebrtc's "probe after a large drop", it returns at once (within
what the throughput allows, 1.5 times it) to 85% of what it was before the drop, which
an overuse undoes if the path cannot carry it. While it is still below ``FAST_SHARE`` of
the highest estimate of the last ``PEAK_MEMORY_MS``, it climbs by ``FAST_RATE`` a second
rather than 8% (the sender's output, a smaller picture after a cap, may lag the estimate,
and 1.5 times that output bounds each step). Installed per receiver by ``PeerConnection``
(fault 7).
"""

from __future__ import annotations

from collections import deque
from typing import Final

from aiortc.rate import AimdRateControl, BandwidthUsage, RateControlState

CAPACITY_MEMORY_MS: Final = 2_000
"""How long after the last overuse the link capacity estimate is trusted."""
RECOVERY_SHARE: Final = 0.85
"""Of the estimate before a drop, what the recovery returns to at once (libwebrtc's probe goal)."""
FAST_SHARE: Final = 0.7
FAST_RATE: Final = 1.3
"""Growth per second while far below the recent peak, instead of GCC's 1.08."""
PEAK_MEMORY_MS: Final = 30_000


class RateControl(AimdRateControl):
    """aiortc's AIMD rate control, whose memory of the link capacity expires."""

    def __init__(self) -> None:
        super().__init__()
        self.last_overuse_ms: int | None = None
        self.before_drop: int | None = None
        """The estimate when the last run of overuse began, in bit/s."""
        self.recovering_to: int | None = None
        self._peaks: deque[tuple[int, int]] = deque()  # (when, estimate), one a second at most
        self._last_ms: int | None = None

    def peak(self, now_ms: int) -> int:
        """The highest estimate of the last ``PEAK_MEMORY_MS``."""
        while self._peaks and now_ms - self._peaks[0][0] > PEAK_MEMORY_MS:
            self._peaks.popleft()
        return max((estimate for _, estimate in self._peaks), default=0)

    def update(self, bandwidth_usage: BandwidthUsage, estimated_throughput: int | None, now_ms: int) -> int | None:
        quiet = self.last_overuse_ms is None or now_ms - self.last_overuse_ms > CAPACITY_MEMORY_MS
        if bandwidth_usage == BandwidthUsage.OVERUSING:
            if quiet and self.current_bitrate_initialized:
                self.before_drop = self.current_bitrate  # a new drop begins
            self.last_overuse_ms = now_ms
            self.recovering_to = None
        elif quiet and self.near_max:
            self.near_max = False
            self.avg_max_bitrate_kbps = None
            if self.before_drop is not None:
                self.recovering_to = int(RECOVERY_SHARE * self.before_drop)
        bitrate = super().update(bandwidth_usage, estimated_throughput, now_ms)
        elapsed = min(1.0, (now_ms - self._last_ms) / 1000) if self._last_ms is not None else 0.0
        self._last_ms = now_ms
        if bitrate is None:
            return bitrate
        if self.current_bitrate_initialized and (not self._peaks or now_ms - self._peaks[-1][0] >= 1000):
            self._peaks.append((now_ms, bitrate))
        if self.state != RateControlState.INCREASE or not quiet:
            return bitrate
        goal = self.recovering_to
        if goal is not None:
            if bitrate >= goal:
                self.recovering_to = None
            else:
                jump = self._clamp_bitrate(goal, self.latest_estimated_throughput)
                if jump > bitrate:
                    self.current_bitrate = bitrate = jump
        if not self.near_max and bitrate < FAST_SHARE * self.peak(now_ms) and elapsed > 0:
            faster = self._clamp_bitrate(int(bitrate * FAST_RATE**elapsed), self.latest_estimated_throughput)
            if faster > bitrate:
                self.current_bitrate = bitrate = faster
        return bitrate


__all__ = ["CAPACITY_MEMORY_MS", "RECOVERY_SHARE", "LossBasedLimit", "RateControl", "RetransmissionBudget"]


LOSS_HIGH: Final = 0.10
"""Above this share of packets lost, the sender backs off (GCC)."""
LOSS_LOW: Final = 0.02
"""Below it, for ``LOSS_MEMORY`` seconds, the loss-based limit is lifted."""
LOSS_MEMORY: Final = 2.0


class LossBasedLimit:
    """GCC's loss-based half, at the sender, from RTCP receiver reports (aiortc has only the delay-based REMB).

    A full bottleneck queue delays every packet alike, so the delay-based estimate sees
    no trend and holds while the queue drops packets. Above ``LOSS_HIGH`` loss each report
    lowers the limit to ``(1 - loss / 2)`` times the current target; after ``LOSS_MEMORY``
    seconds below ``LOSS_LOW`` the limit is lifted and the REMB alone decides again.
    """

    def __init__(self) -> None:
        self.limit: int | None = None
        """The most the encoder may aim for now, in bit/s; ``None``: no limit."""
        self._low_since: float | None = None

    def on_report(self, fraction_lost: float, current: int, now: float) -> None:
        if fraction_lost > LOSS_HIGH:
            self.limit = int(current * (1 - 0.5 * fraction_lost))
            self._low_since = None
        elif fraction_lost < LOSS_LOW:
            if self._low_since is None:
                self._low_since = now
            elif now - self._low_since > LOSS_MEMORY:
                self.limit = None
        else:
            self._low_since = None


RETRANSMISSION_SHARE: Final = 1.0
"""Retransmissions may add at most this share of the encoder's target bitrate."""
PACKET_BITS: Final = 8 * 1_200


class RetransmissionBudget:
    """A token bucket for NACK retransmissions (libwebrtc limits them; aiortc resends whatever is asked).

    On a congested link every retransmission that is dropped is asked for again, and an
    unlimited sender ends up sending more retransmissions than media: congestion collapse.
    """

    def __init__(self) -> None:
        self._tokens = 5.0
        self._at: float | None = None
        self.refused = 0
        """Retransmissions not sent for want of budget."""

    def allow(self, target_bitrate: float, now: float) -> bool:
        rate = max(5.0, RETRANSMISSION_SHARE * target_bitrate / PACKET_BITS)  # packets per second
        if self._at is not None:
            self._tokens = min(max(5.0, rate / 4), self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.refused += 1
        return False
