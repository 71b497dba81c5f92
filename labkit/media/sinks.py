"""Sinks: tasks that consume a remote track, so that it never backs up, and keep its vital signs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from .audio_level import LevelMeter, audio_level_dbfs
from .speaker import Speaker

logger = logging.getLogger(__name__)


class _Sink:
    """Pulls every frame of ``track`` on the engine loop until it ends or ``stop()``."""

    def __init__(self, track: MediaStreamTrack, name: str) -> None:
        self.track = track
        self.frames = 0
        self.last_frame_at: float | None = None
        self.first_frame_at: float | None = None
        """``time.monotonic()`` of the first frame (the inspector's 'first decoded frame')."""
        self._arrivals: deque[float] = deque(maxlen=120)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=name)

    def rate(self, window: float = 1.0) -> float:
        """Frames per second over the last ``window`` seconds."""
        now = time.monotonic()
        return sum(1 for t in self._arrivals if t >= now - window) / window

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                now = time.monotonic()
                self.frames += 1
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.last_frame_at = now
                self._arrivals.append(now)
                self._on_frame(frame)
        except MediaStreamError:
            pass
        except Exception:
            logger.exception("a %s sink failed", self.track.kind)

    def _on_frame(self, frame: object) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


FREEZE_MIN_GAP = 0.150
"""A gap counts as a freeze if it exceeds both 3 average frame intervals and that average plus 150 ms (W3C)."""


class VideoSink(_Sink):
    """Keeps the latest decoded frame of a remote video track, reports size changes, and times freezes."""

    def __init__(self, track: MediaStreamTrack, name: str, on_size: Callable[[int, int], None] | None = None) -> None:
        self.latest: VideoFrame | None = None
        self.size: tuple[int, int] = (0, 0)
        self.total_freeze_duration = 0.0
        self.longest_freeze_duration = 0.0
        self._intervals: deque[float] = deque(maxlen=30)
        self._on_size = on_size
        self._waiters: list[asyncio.Future[VideoFrame]] = []
        super().__init__(track, name)

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, VideoFrame)
        self._time_freezes()
        self.latest = frame
        size = (frame.width, frame.height)
        if size != self.size:
            self.size = size
            if self._on_size is not None:
                self._on_size(*size)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(frame)

    def _time_freezes(self) -> None:
        if len(self._arrivals) < 2:
            return
        gap = self._arrivals[-1] - self._arrivals[-2]
        if self._intervals:
            average = sum(self._intervals) / len(self._intervals)
            if gap > max(3 * average, average + FREEZE_MIN_GAP):
                self.total_freeze_duration += gap
                self.longest_freeze_duration = max(self.longest_freeze_duration, gap)
                return  # a freeze does not count towards the average
        self._intervals.append(gap)

    async def next_frame(self) -> VideoFrame:
        """The next frame to arrive."""
        waiter: asyncio.Future[VideoFrame] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter


class LevelSink(_Sink):
    """Measures an audio track's level (a microphone meter)."""

    def __init__(self, track: MediaStreamTrack, name: str) -> None:
        self.meter = LevelMeter()
        super().__init__(track, name)

    def level_dbfs(self) -> float:
        return self.meter.level()

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, AudioFrame)
        self.meter.add(audio_level_dbfs(frame))


class AudioSink(LevelSink):
    """Measures a remote audio track's level and plays it on the current speaker."""

    def __init__(
        self,
        track: MediaStreamTrack,
        name: str,
        source: str,
        speaker: Callable[[], Speaker],
        taps: list[Callable[[str, AudioFrame], None]] | None = None,
    ) -> None:
        self.source = source
        self._speaker = speaker
        self._taps = taps if taps is not None else []
        """Also given every frame, with ``source`` (a call recording); a shared list."""
        super().__init__(track, name)

    def _on_frame(self, frame: object) -> None:
        super()._on_frame(frame)
        assert isinstance(frame, AudioFrame)
        for tap in self._taps:
            tap(self.source, frame)
        self._speaker().play(self.source, frame)
