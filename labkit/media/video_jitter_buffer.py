"""``VideoJitterBuffer``: labkit's video frame assembly, each frame released once complete (W3C ``RTCRtpReceiver``).

aiortc's video buffer hands a frame to the decoder only when the *next* frame's first
packet arrives: at 30 fps every frame waits about 33 ms for nothing. This one releases a
frame the moment it is complete, that is, its packets run without a gap from the first
(just after the previous frame's last, or a keyframe's first) to the one with the marker
bit; and in decoding order:

* A frame with a hole is never released. A hole waits for retransmissions, a
  ``repair_window`` of at least 0.3 s and 2.5 round trips. A frame whose last packets
  have simply not come yet, with nothing after them, is not a loss but a stall (a busy
  engine reads a big keyframe's burst late): it waits up to ``STALL_WAIT``. Given up at
  0.3 s, such a keyframe was dropped, asked for again, and dropped again, so video
  froze for good behind an SFU. The buffer sends the NACKs
  itself (``PeerConnection`` turns aiortc's off): aiortc's receiver asks for every packet
  still missing each time a new gap shows, which floods a congested link with
  retransmissions, and never asks again for a retransmission that was lost. Here each
  missing packet is asked for when its gap shows, then after 1.5 round trips (40 ms
  before the first is measured) and twice as long each time, at most ``MAX_NACKS``
  times. Then what is missing is given up
  (``frames_dropped``), and the buffer waits for a keyframe, asking for one with a
  picture loss indication (PLI) until it comes.
* A packet older than what was released is discarded, so a late packet never corrupts a
  released frame; a duplicate is discarded too.
* ``target_ms`` (W3C ``jitterBufferTarget``) holds each frame until its playout time, the
  earliest its frames have arrived plus the target, which smooths jitter at the cost of
  latency. 0, the default, releases at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final, Protocol

from aiortc.jitterbuffer import JitterFrame

from .jitter_buffer import Cancellable, JitterBufferStats, Scheduler, Unwrapper

CLOCK_RATE: Final = 90_000
REPAIR_WINDOW: Final = 0.3
"""Seconds a hole waits for retransmissions before it is given up."""
NACK_INTERVAL: Final = 0.04
"""Seconds before a missing packet is asked for again, until a round trip is measured; doubled each time."""
MAX_NACKS: Final = 6
"""Requests for one packet at most."""
MAX_NACK_PACKETS: Final = 200
STALL_WAIT: Final = 2.0
"""Seconds a frame may wait for its last packets when nothing after them has come (a stall, not a loss)."""
KEYFRAME_REQUEST_INTERVAL: Final = 0.3
"""Seconds between two keyframe requests while one is awaited."""
MAX_PACKETS: Final = 2_000
"""Packets held at most; beyond it the oldest frames are given up."""
MAX_FRAME_PACKETS: Final = 1_000
LATENESS_WINDOW: Final = 90
"""Frames over which the earliest arrival is taken (3 s at 30 fps)."""


class RtpPacketLike(Protocol):
    """What the buffer reads of aiortc's ``RtpPacket`` (``_data`` is the depayloaded payload aiortc adds)."""

    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes


class Depacketizer(Protocol):
    """Codec knowledge: where a frame starts and whether it is a keyframe."""

    def is_frame_start(self, packet: Any) -> bool: ...

    def is_keyframe(self, packet: Any) -> bool: ...


class Vp8:
    """RFC 7741: S=1 with partition 0 in the descriptor starts a frame; P=0 in the payload header is a keyframe."""

    def is_frame_start(self, packet: Any) -> bool:
        payload: bytes = packet.payload
        return bool(payload) and bool(payload[0] & 0x10) and (payload[0] & 0x07) == 0

    def is_keyframe(self, packet: Any) -> bool:
        data: bytes = getattr(packet, "_data", b"")
        return self.is_frame_start(packet) and bool(data) and not data[0] & 0x01


class H264:
    """RFC 6184: a keyframe starts with its SPS (alone or in a STAP-A) or an IDR slice's first fragment."""

    def _first_nal(self, payload: bytes) -> int:
        if not payload:
            return 0
        kind = payload[0] & 0x1F
        if kind == 24 and len(payload) > 3:  # STAP-A: the first aggregated NAL
            return payload[3] & 0x1F
        if kind == 28 and len(payload) > 1:  # FU-A: only its first fragment starts the NAL
            return payload[1] & 0x1F if payload[1] & 0x80 else 0
        return kind

    def is_frame_start(self, packet: Any) -> bool:
        return self._first_nal(packet.payload) in (5, 7, 9)

    def is_keyframe(self, packet: Any) -> bool:
        return self._first_nal(packet.payload) in (5, 7)


DEPACKETIZERS: Final[dict[str, Depacketizer]] = {"vp8": Vp8(), "h264": H264()}


class VideoJitterBuffer:
    """Packets in (``add``, aiortc's ``JitterBuffer`` interface), complete frames out (``deliver``)."""

    def __init__(
        self,
        deliver: Callable[[JitterFrame], None],
        request_keyframe: Callable[[], None],
        scheduler: Scheduler,
        codec: str = "vp8",
        target_ms: float = 0.0,
        nack: Callable[[list[int]], None] | None = None,
        rtt: Callable[[], float | None] | None = None,
    ) -> None:
        self._deliver = deliver
        self._request_keyframe = request_keyframe
        self._nack = nack
        self._rtt = rtt
        self._nack_timer: Cancellable | None = None
        self._nacked: dict[int, tuple[int, float]] = {}  # extended number -> (requests, when next)
        self._highest: int | None = None
        self._hole_started = 0.0
        self._scheduler = scheduler
        self._codec = DEPACKETIZERS.get(codec.lower(), Vp8())
        self._unwrap = Unwrapper(16)
        self._packets: dict[int, Any] = {}  # extended sequence number -> packet
        self._arrivals: dict[int, float] = {}  # RTP timestamp -> its first packet's arrival
        self._lateness: deque[float] = deque(maxlen=LATENESS_WINDOW)
        self._next: int | None = None  # where the next frame starts; None: a keyframe is awaited
        self._hole_timer: Cancellable | None = None
        self._pending: deque[tuple[float, JitterFrame, float]] = deque()  # (playout time, frame, arrival)
        self._pending_timer: Cancellable | None = None
        self._last_request = -1e9
        self._closed = False
        self.target_ms = target_ms
        """How long to hold each frame for smoothness, in ms (W3C ``jitterBufferTarget``); 0 releases at once."""
        self.repair_window = REPAIR_WINDOW
        self.stats = JitterBufferStats()

    def add(self, packet: Any) -> tuple[bool, None]:
        """Take one RTP packet, depayloaded by aiortc; release what it completes."""
        if self._closed:
            return False, None
        ext = self._unwrap(int(packet.sequence_number))
        if (self._next is not None and ext < self._next) or ext in self._packets:
            self.stats.packets_discarded += 1
            return False, None
        now = self._scheduler.time()
        if self._highest is not None and ext > self._highest + 1 and self._nack is not None:
            gap = range(max(self._highest + 1, ext - MAX_NACK_PACKETS), ext)
            interval = self._nack_interval()
            for missing in gap:
                self._nacked[missing] = (1, now + interval)
            self._nack([missing & 0xFFFF for missing in gap])  # at once, as a gap shows
        self._highest = ext if self._highest is None else max(self._highest, ext)
        self._packets[ext] = packet
        timestamp = int(packet.timestamp)
        if timestamp not in self._arrivals:
            self._arrivals[timestamp] = now
            self._lateness.append(now - timestamp / CLOCK_RATE)
        if len(self._packets) > MAX_PACKETS:
            self._give_up()
        self._release()
        return False, None

    def reset(self) -> None:
        """Forget everything and wait for a keyframe (a stream that starts again, for example after a hold)."""
        for timer in (self._hole_timer, self._pending_timer, self._nack_timer):
            if timer is not None:
                timer.cancel()
        self._hole_timer = self._pending_timer = self._nack_timer = None
        self._packets.clear()
        self._arrivals.clear()
        self._lateness.clear()
        self._pending.clear()
        self._unwrap.reset()
        self._next = None
        self._highest = None
        self._nacked.clear()

    def close(self) -> None:
        self._closed = True
        self.reset()

    # --- assembly -----------------------------------------------------------------------

    def _frame_at(self, start: int) -> tuple[list[Any], int] | None:
        """The complete frame whose first packet is ``start``: its packets and its last number."""
        first = self._packets.get(start)
        if first is None:
            return None
        packets = [first]
        if first.marker:
            return packets, start
        for ext in range(start + 1, start + MAX_FRAME_PACKETS):
            packet = self._packets.get(ext)
            if packet is None:
                return None
            if packet.timestamp != first.timestamp:  # the frame ended, its marker bit unset
                return packets, ext - 1
            packets.append(packet)
            if packet.marker:
                return packets, ext
        return None

    def _release(self) -> None:
        while True:
            if self._next is None:
                starts = [ext for ext, packet in self._packets.items() if self._codec.is_keyframe(packet)]
                if not starts:  # no keyframe on its way: ask for one, keep only the last few packets
                    self._ask_for_keyframe()
                    self._drop_before(max(self._packets, default=0) - 200)
                    return
                start = min(starts)  # complete or not: a hole in it is repaired, or given up, as any other
                self._drop_before(start)
                self._next = start
            found = self._frame_at(self._next)
            if found is None:
                self._watch_hole()
                return
            packets, last = found
            self._clear_hole()
            self._drop_before(last + 1, count=False)
            self._emit(packets)
            self._next = last + 1

    def _emit(self, packets: list[Any]) -> None:
        timestamp = int(packets[0].timestamp)
        frame = JitterFrame(data=b"".join(getattr(p, "_data", b"") for p in packets), timestamp=timestamp)
        arrival = self._arrivals.pop(timestamp, self._scheduler.time())
        now = self._scheduler.time()
        if self.target_ms <= 0 and not self._pending:
            self._out(frame, arrival, now)
            return
        playout = min(self._lateness, default=now) + timestamp / CLOCK_RATE + self.target_ms / 1000
        if now > playout + 0.001:
            self.stats.frames_released_late += 1
        self._pending.append((playout, frame, arrival))
        self._flush()

    def _flush(self) -> None:
        self._pending_timer = None
        now = self._scheduler.time()
        while self._pending and self._pending[0][0] <= now:
            _, frame, arrival = self._pending.popleft()
            self._out(frame, arrival, now)
        if self._pending and self._pending_timer is None:
            self._pending_timer = self._scheduler.call_at(self._pending[0][0], self._flush)

    def _out(self, frame: JitterFrame, arrival: float, now: float) -> None:
        stats = self.stats
        stats.jitter_buffer_emitted_count += 1
        stats.jitter_buffer_delay += now - arrival
        stats.jitter_buffer_target_delay += self.target_ms / 1000
        self._deliver(frame)

    # --- loss ---------------------------------------------------------------------------

    def _watch_hole(self) -> None:
        if self._hole_timer is None and self._packets:
            now = self._scheduler.time()
            self._hole_started = now
            rtt = self._rtt() if self._rtt is not None else None
            window = max(self.repair_window, 2.5 * rtt) if rtt is not None else self.repair_window
            self._hole_timer = self._scheduler.call_at(now + window, self._hole_expired)
            if self._nack is not None and self._nack_timer is None:
                self._nack_timer = self._scheduler.call_at(now + self._nack_interval(), self._nack_again)

    def _clear_hole(self) -> None:
        for timer in (self._hole_timer, self._nack_timer):
            if timer is not None:
                timer.cancel()
        self._hole_timer = self._nack_timer = None
        if self._next is not None:
            self._nacked = {ext: state for ext, state in self._nacked.items() if ext >= self._next}

    def missing(self) -> list[int]:
        """The extended sequence numbers the buffer still waits for, oldest first."""
        if self._next is None or not self._packets:
            return []
        newest = max(self._packets)
        gaps = (ext for ext in range(self._next, newest) if ext not in self._packets)
        return [ext for ext, _ in zip(gaps, range(MAX_NACK_PACKETS), strict=False)]

    def _nack_again(self) -> None:
        self._nack_timer = None
        if self._closed or self._hole_timer is None or self._nack is None:
            return
        now = self._scheduler.time()
        interval = self._nack_interval()
        due = []
        for ext in self.missing():
            requests, when = self._nacked.get(ext, (0, now))
            if requests < MAX_NACKS and when <= now:
                due.append(ext & 0xFFFF)
                self._nacked[ext] = (requests + 1, now + interval * 2**requests)
        if due:
            self._nack(due)
        self._nack_timer = self._scheduler.call_at(now + interval, self._nack_again)

    def _nack_interval(self) -> float:
        """How long a retransmission may take: 1.5 round trips (10 to 100 ms), or ``NACK_INTERVAL`` unknown."""
        rtt = self._rtt() if self._rtt is not None else None
        return NACK_INTERVAL if rtt is None else min(0.1, max(0.01, 1.5 * rtt))

    def _hole_expired(self) -> None:
        self._hole_timer = None
        if self._closed:
            return
        now = self._scheduler.time()
        stall_ends = self._hole_started + STALL_WAIT
        if not self.missing() and now < stall_ends:  # nothing lost between packets: the frame's end is late
            self._hole_timer = self._scheduler.call_at(min(now + self.repair_window, stall_ends), self._hole_expired)
            return
        self._give_up()
        self._release()

    def _give_up(self) -> None:
        """What is missing will not come: drop the frame that waits for it, and go on from a later keyframe."""
        stuck, self._next = self._next, None
        later = [
            ext
            for ext, packet in self._packets.items()
            if (stuck is None or ext > stuck) and self._codec.is_keyframe(packet)
        ]
        self._drop_before(min(later) if later else max(self._packets, default=0) + 1)

    def _drop_before(self, ext: int, count: bool = True) -> None:
        gone = [e for e in self._packets if e < ext]
        timestamps = {int(self._packets[e].timestamp) for e in gone}
        for e in gone:
            del self._packets[e]
        for timestamp in timestamps:
            self._arrivals.pop(timestamp, None)
        if count:
            self.stats.frames_dropped += len(timestamps)

    def _ask_for_keyframe(self) -> None:
        now = self._scheduler.time()
        if now - self._last_request >= KEYFRAME_REQUEST_INTERVAL:
            self._last_request = now
            self.stats.keyframes_requested += 1
            self._request_keyframe()


__all__ = ["DEPACKETIZERS", "H264", "Depacketizer", "VideoJitterBuffer", "Vp8"]
