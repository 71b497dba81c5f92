"""What labkit's jitter buffers share: stats (W3C ``RTCInboundRtpStreamStats``), a clock, RTP number unwrapping.

``AudioJitterBuffer`` (``audio_jitter_buffer``) and ``VideoJitterBuffer``
(``video_jitter_buffer``) replace aiortc's ``JitterBuffer`` in each receiver (see
``receive_path``). They are plain objects: packets in, frames out through a callback, time
from a ``Scheduler`` (the event loop, or a manual one in unit tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Protocol


class Scheduler(Protocol):
    """The part of ``asyncio.AbstractEventLoop`` a jitter buffer uses."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Cancellable: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


@dataclass(slots=True)
class JitterBufferStats:
    """Counters of one receiving jitter buffer, named after W3C ``RTCInboundRtpStreamStats``.

    ``jitter_buffer_delay`` / ``jitter_buffer_emitted_count`` is the mean time a sample
    (audio) or a frame (video) waited, from its first packet's arrival to leaving the
    buffer: ACS ``MediaStats`` shows it as ``jitterBufferInMs``.
    """

    jitter_buffer_delay: float = 0.0
    """Seconds, summed over everything emitted (W3C ``jitterBufferDelay``)."""
    jitter_buffer_target_delay: float = 0.0
    """Seconds, the target at each emission, summed likewise (W3C ``jitterBufferTargetDelay``)."""
    jitter_buffer_emitted_count: int = 0
    """Samples (audio) or frames (video) that left the buffer (W3C ``jitterBufferEmittedCount``)."""
    packets_discarded: int = 0
    """Packets that came too late to be played, or twice (W3C ``packetsDiscarded``)."""
    # audio
    total_samples_received: int = 0
    """Samples played out, concealed ones included (W3C ``totalSamplesReceived``)."""
    concealed_samples: int = 0
    """Samples made up in place of lost or late ones (W3C ``concealedSamples``)."""
    concealment_events: int = 0
    """Runs of concealed samples (W3C ``concealmentEvents``)."""
    fec_samples: int = 0
    """Samples rebuilt from the next packet's in-band FEC rather than guessed (counted in ``concealed_samples``)."""
    inserted_samples_for_deceleration: int = 0
    """Samples added to let the buffer grow (W3C ``insertedSamplesForDeceleration``)."""
    removed_samples_for_acceleration: int = 0
    """Samples dropped to let the buffer shrink (W3C ``removedSamplesForAcceleration``)."""
    # video
    frames_dropped: int = 0
    """Frames given up because a packet never came, and frames waiting for a keyframe (W3C ``framesDropped``)."""
    frames_released_late: int = 0
    """Frames complete only after their playout time (with a target delay above 0)."""
    keyframes_requested: int = 0
    """Picture loss indications this buffer asked for (part of W3C ``pliCount``)."""

    def as_dict(self) -> dict[str, float]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def add(self, other: JitterBufferStats) -> None:
        """Add ``other``'s counts to these (a receiver's earlier buffers to its current one)."""
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def mean_delay_ms(self) -> float:
        """The mean wait in the buffer so far, in ms (ACS ``jitterBufferInMs``, over the whole call)."""
        if not self.jitter_buffer_emitted_count:
            return 0.0
        return 1000.0 * self.jitter_buffer_delay / self.jitter_buffer_emitted_count

    @property
    def healed_ratio(self) -> float:
        """Concealed samples over samples played (ACS ``healedRatio``); 0.0 for video."""
        if not self.total_samples_received:
            return 0.0
        return self.concealed_samples / self.total_samples_received


class Unwrapper:
    """Extends a wrapping RTP counter (16-bit sequence numbers, 32-bit timestamps) to a growing integer."""

    __slots__ = ("_bits", "_last")

    def __init__(self, bits: int) -> None:
        self._bits = bits
        self._last: int | None = None

    def __call__(self, value: int) -> int:
        if self._last is None:
            self._last = value + (1 << self._bits)  # room below the first value for reordered packets
            return self._last
        span = 1 << self._bits
        base = self._last - (self._last % span)
        candidates = (base - span + value, base + value, base + span + value)
        last = self._last
        extended = min(candidates, key=lambda c: abs(c - last))
        if extended > self._last:
            self._last = extended
        return extended

    def reset(self) -> None:
        self._last = None


__all__ = ["Cancellable", "JitterBufferStats", "Scheduler", "Unwrapper"]
