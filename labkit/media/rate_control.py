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
an overuse undoes if the path cannot carry it. Installed per receiver by
``PeerConnection`` (fault 7).
"""

from __future__ import annotations

from typing import Final

from aiortc.rate import AimdRateControl, BandwidthUsage, RateControlState

CAPACITY_MEMORY_MS: Final = 2_000
"""How long after the last overuse the link capacity estimate is trusted."""
RECOVERY_SHARE: Final = 0.85
"""Of the estimate before a drop, what the recovery returns to at once (libwebrtc's probe goal)."""


class RateControl(AimdRateControl):
    """aiortc's AIMD rate control, whose memory of the link capacity expires."""

    def __init__(self) -> None:
        super().__init__()
        self.last_overuse_ms: int | None = None
        self.before_drop: int | None = None
        """The estimate when the last run of overuse began, in bit/s."""
        self.recovering_to: int | None = None

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
        goal = self.recovering_to
        if bitrate is None or goal is None or self.state != RateControlState.INCREASE:
            return bitrate
        if bitrate >= goal:
            self.recovering_to = None
            return bitrate
        jump = self._clamp_bitrate(goal, self.latest_estimated_throughput)
        if jump > bitrate:
            self.current_bitrate = bitrate = jump
        return bitrate


__all__ = ["CAPACITY_MEMORY_MS", "RECOVERY_SHARE", "RateControl"]
