"""``AudioJitterBuffer``: labkit's adaptive Opus playout, with loss concealment (W3C ``RTCRtpReceiver`` audio).

aiortc's audio buffer holds 16 packets, releases one only when 4 more follow it (about
80 ms) and stops at the first missing packet until the gap is 16 packets wide, with
nothing to fill it: at 30% loss a tone was heard 6 to 9 s of 15. This buffer plays out as
WebRTC's NetEq does, in miniature:

* A clock of its own takes one frame (20 ms) every tick, whatever the network does.
* A missing frame is concealed: rebuilt from the next packet's in-band FEC when that
  packet is here, else guessed by libopus's packet-loss concealment (``OpusDecoder``).
* The delay adapts: the target is the jitter measured (the 95th percentile of how late
  packets come, against the earliest), plus a margin, or ``target_ms`` when set
  (W3C ``jitterBufferTarget``). Below target a frame is stretched in (deceleration),
  above it one is dropped (acceleration).
* When the path grows longer (a delay step), packets come after their slots were
  concealed; as nothing else waits, playout steps back and plays them, later from then on.
* Half a second with no packet at all (hold, a muted browser) pauses playout; the next
  packet starts it again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Final

from .jitter_buffer import Cancellable, JitterBufferStats, Scheduler, Unwrapper
from .opus_decoder import SAMPLE_RATE, OpusDecoder, OpusError

logger = logging.getLogger(__name__)

FRAME_SAMPLES: Final = 960
"""20 ms at 48 kHz: the frame length until a packet says otherwise."""
MARGIN: Final = 0.010
"""Seconds above the measured jitter that the adaptive target keeps."""
MIN_TARGET: Final = 0.010
MAX_TARGET: Final = 1.0
PAUSE_AFTER: Final = 0.5
"""Seconds without any packet after which playout pauses."""
WINDOW: Final = 150
"""Packets over which jitter is measured (3 s of 20 ms frames): a stall is forgotten 3 s later."""
MAX_PACKETS: Final = 500
"""Packets held at most (10 s): a buffer never grows without bound."""

Emit = Callable[[bytes, int], None]
"""Receives interleaved stereo s16 PCM at 48 kHz and its presentation time in samples."""


class AudioJitterBuffer:
    """Packets in (``add``), a steady 20 ms stream of decoded PCM out (``emit``)."""

    def __init__(self, emit: Emit, scheduler: Scheduler, target_ms: float | None = None) -> None:
        self._emit = emit
        self._scheduler = scheduler
        self._decoder = OpusDecoder()
        self._unwrap = Unwrapper(32)
        self._packets: dict[int, tuple[bytes, float]] = {}  # extended RTP timestamp -> (payload, arrival)
        self._lateness: deque[float] = deque(maxlen=WINDOW)  # arrival - media time, per packet
        self._play_ts: int | None = None
        self._out_pts = 0
        self._frame = FRAME_SAMPLES
        self._next_tick = 0.0
        self._timer: Cancellable | None = None
        self._last_arrival = 0.0
        self._concealing = False
        self._closed = False
        self.target_ms = target_ms
        """The delay to keep, in ms (W3C ``jitterBufferTarget``); ``None`` adapts it to the jitter measured."""
        self.stats = JitterBufferStats()

    # --- aiortc's JitterBuffer interface ----------------------------------------------

    def add(self, packet: object) -> tuple[bool, None]:
        """Take one RTP packet (aiortc's ``RtpPacket``); frames come out on the buffer's own clock."""
        if self._closed:
            return False, None
        payload: bytes = getattr(packet, "payload", b"")
        ts = self._unwrap(int(getattr(packet, "timestamp", 0)))
        now = self._scheduler.time()
        self._last_arrival = now
        if ts in self._packets:
            self.stats.packets_discarded += 1
            return False, None
        self._lateness.append(now - ts / SAMPLE_RATE)  # too late or not, it tells how late packets come
        if self._is_late(ts):
            if self._packets:  # later ones are here already: this one is simply too late
                self.stats.packets_discarded += 1
                return False, None
            # nothing waits: the stream as a whole now comes later (a longer path), and playout,
            # which concealed its slots meanwhile, steps back to play from this packet on
            assert self._play_ts is not None
            self.stats.inserted_samples_for_deceleration += self._play_ts - ts
            self._play_ts = ts
        self._packets[ts] = (payload, now)
        if len(self._packets) > MAX_PACKETS:
            del self._packets[min(self._packets)]
        if self._timer is None:
            self._start(now)
        return False, None

    def reset(self) -> None:
        """Forget every packet (a new stream starts, for example after a hold)."""
        self._stop_timer()
        self._packets.clear()
        self._lateness.clear()
        self._unwrap.reset()
        self._play_ts = None

    def close(self) -> None:
        self._closed = True
        self.reset()
        self._decoder.close()

    # --- the delay -----------------------------------------------------------------

    @property
    def target(self) -> float:
        """The delay this buffer aims for now, in seconds (W3C ``jitterBufferTargetDelay``)."""
        if self.target_ms is not None:
            return min(MAX_TARGET, max(0.0, self.target_ms / 1000))
        return min(MAX_TARGET, max(MIN_TARGET, self.jitter + MARGIN))

    @property
    def jitter(self) -> float:
        """How late packets come, in seconds: the 95th percentile against the earliest, over the last 5 s."""
        if len(self._lateness) < 2:
            return 0.0
        ordered = sorted(self._lateness)
        return ordered[int(0.95 * (len(ordered) - 1))] - ordered[0]

    def _delay(self, now: float) -> float:
        """How long after its earliest possible arrival the frame due now is played."""
        assert self._play_ts is not None
        return now - (min(self._lateness) + self._play_ts / SAMPLE_RATE)

    # --- the playout clock -----------------------------------------------------------

    def _start(self, now: float) -> None:
        self._play_ts = min(self._packets)
        self._next_tick = now + self.target
        self._timer = self._scheduler.call_at(self._next_tick, self._tick)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        if self._closed or self._play_ts is None:
            return
        now = self._scheduler.time()
        if now - self._last_arrival > PAUSE_AFTER:
            self._packets.clear()
            self._lateness.clear()  # the stream may resume on another timeline
            self._play_ts = None
            return
        try:
            self._play_one(now)
        except OpusError as error:
            logger.warning("an Opus packet could not be decoded: %s", error)
            self._play_ts += self._frame
        self._next_tick += self._frame / SAMPLE_RATE
        if self._next_tick < now - 0.1:  # the loop was blocked: do not replay the backlog at once
            self._next_tick = now
        self._timer = self._scheduler.call_at(self._next_tick, self._tick)

    def _is_late(self, ts: int) -> bool:
        """Its time has passed: it starts more than half a frame before the frame due now."""
        return self._play_ts is not None and ts < self._play_ts - self._frame // 2

    def _due(self) -> int | None:
        """The packet that plays now: the earliest, if it starts within this frame.

        Timestamps need not sit on the frame grid that began with the first packet
        (GStreamer's first Opus packet is 312 samples off it), so the grid follows them.
        """
        assert self._play_ts is not None
        earliest = min(self._packets, default=None)
        if earliest is not None and earliest < self._play_ts + self._frame:
            return earliest
        return None

    def _play_one(self, now: float) -> None:
        assert self._play_ts is not None
        for stale in [ts for ts in self._packets if self._is_late(ts)]:
            del self._packets[stale]
        target = self.target
        delay = self._delay(now)
        due = self._due()
        if due is not None and delay < target - self._frame / SAMPLE_RATE / 2:
            # deceleration: let the buffer grow by one frame before playing what is here
            pcm = self._decoder.conceal(self._frame)
            self.stats.inserted_samples_for_deceleration += self._frame
            self._out(pcm, now, self._packets[due][1], target, concealed=False)
            return
        if due is not None and delay > target + self._frame / SAMPLE_RATE and len(self._packets) > 1:
            # acceleration: this frame is dropped, the next one plays now
            del self._packets[due]
            self.stats.removed_samples_for_acceleration += self._frame
            self._play_ts = due + self._frame
            due = self._due()
        if due is not None:
            payload, arrival = self._packets.pop(due)
            self._frame = self._decoder.samples_in(payload) or self._frame
            self._out(self._decoder.decode(payload), now, arrival, target, concealed=False)
            self._play_ts = due + self._frame
            return
        # missing, and due: lost (or so late that it will be discarded), so it is concealed;
        # a late packet raises the jitter measured, and with it the target
        earliest = min(self._packets, default=None)
        if earliest is not None and earliest < self._play_ts + 2 * self._frame:
            pcm = self._decoder.recover(self._packets[earliest][0], self._frame)
            self.stats.fec_samples += len(pcm) // 4
        else:
            pcm = self._decoder.conceal(self._frame)
        self._out(pcm, now, now, target, concealed=True)
        gap = (earliest if earliest is not None else self._play_ts) - self._play_ts
        self._play_ts = earliest if gap > 50 * self._frame else self._play_ts + self._frame  # a long gap: resync

    def _out(self, pcm: bytes, now: float, arrival: float, target: float, concealed: bool) -> None:
        samples = len(pcm) // 4
        stats = self.stats
        stats.total_samples_received += samples
        stats.jitter_buffer_emitted_count += samples
        stats.jitter_buffer_delay += (now - arrival) * samples
        stats.jitter_buffer_target_delay += target * samples
        if concealed:
            stats.concealed_samples += samples
            if not self._concealing:
                stats.concealment_events += 1
        self._concealing = concealed
        self._emit(pcm, self._out_pts)
        self._out_pts += samples


__all__ = ["FRAME_SAMPLES", "AudioJitterBuffer"]
