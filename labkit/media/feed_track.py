"""Feed tracks: a call's audio and video, whatever feeds them.

aiortc's VP8 encoder breaks for good if a track's timestamps jump back (for example when
``replaceTrack`` swaps in a track whose clock restarts at 0). labkit never swaps a
sender's track. Each call sends feed tracks whose source can be attached, detached
(video off), paused (hold) or, for audio, muted; the timestamps the encoder sees come
from clocks that never restart (the audio feed's sample count, the video encoder input's).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections import deque
from collections.abc import Callable

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.audio.resampler import AudioResampler

from .audio_level import SILENCE_DBFS, LevelMeter, audio_level_dbfs
from .microphones import AUDIO_TIME_BASE, FRAME_SAMPLES, SAMPLE_RATE, silent_frame


class _Switchable(MediaStreamTrack):
    """A track whose source may change, be removed or be paused while someone awaits ``recv``."""

    def __init__(self) -> None:
        super().__init__()
        self._source: MediaStreamTrack | None = None
        self._paused = False
        self._changed = asyncio.Event()
        self.source_failed = False
        """The last attached source ended or failed (a file that ran out, a device that broke)."""
        self.last_frame_at: float | None = None
        """When the source last delivered a frame (``time.monotonic()``)."""

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    @property
    def paused(self) -> bool:
        return self._paused

    def attach(self, source: MediaStreamTrack | None) -> None:
        """Feed from ``source`` from the next frame on (``None``: no source)."""
        self._source = source
        self.source_failed = False
        self.last_frame_at = time.monotonic() if source is not None else None
        self._signal()

    def pause(self, paused: bool) -> None:
        """While paused, ``recv`` waits: nothing is sent (hold)."""
        self._paused = paused
        self._signal()

    def stop(self) -> None:
        super().stop()
        self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self) -> None:
        await self._changed.wait()

    async def _next_source_frame(self) -> VideoFrame | AudioFrame | None:
        """The source's next frame, or ``None`` if the source changed meanwhile."""
        source = self._source
        if source is None or self._paused:
            await self._wait_change()
            return None
        frame_task = asyncio.ensure_future(source.recv())
        change_task = asyncio.ensure_future(self._wait_change())
        try:
            done, _ = await asyncio.wait({frame_task, change_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            change_task.cancel()
        if frame_task not in done:
            frame_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await frame_task
            return None
        try:
            frame = frame_task.result()
        except MediaStreamError:  # the source ended (a file without loop, a stopped device)
            if self._source is source:
                self._source = None
                self.source_failed = True
            return None
        if self._source is not source or self._paused:
            return None
        assert isinstance(frame, VideoFrame | AudioFrame)
        self.last_frame_at = time.monotonic()
        return frame


class VideoFeedTrack(_Switchable):
    """Video from an attachable, pausable source, passed on untouched.

    The frames may be shared (one camera feeds every call and preview), so nothing here
    changes them; each sender's ``EncoderInputTrack`` makes its own copy and stamps it on
    its own continuous clock.
    """

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.frames_sent = 0
        self.latest: VideoFrame | None = None
        """The last frame sent, while there is a source (a call recording shows it)."""

    def attach(self, source: MediaStreamTrack | None) -> None:
        if source is None:
            self.latest = None
        super().attach(source)

    async def recv(self) -> VideoFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self._next_source_frame()
            if isinstance(frame, VideoFrame):
                self.frames_sent += 1
                self.latest = frame
                return frame


class AudioFeedTrack(_Switchable):
    """Audio from a microphone; silence when muted or when there is no microphone.

    Whatever the microphone delivers (float or integer samples, any rate, any layout, any
    frame size) leaves as 20 ms frames of s16 mono at 48 kHz: aiortc's Opus encoder takes
    only s16, and its sender gives every packet of one frame the same RTP timestamp, so a
    longer frame would arrive as duplicates.
    Timestamps count samples from the feed's start, so a new microphone continues the clock.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.muted = False
        self._samples = 0
        self._start: float | None = None
        self._resampler = _opus_input_resampler()
        self._ready: deque[AudioFrame] = deque()
        self.input_meter = LevelMeter()
        """The microphone's level (before muting), over the last 200 ms."""
        self.taps: list[Callable[[AudioFrame], None]] = []
        """Also given every frame as it is sent (a call recording)."""

    def attach(self, source: MediaStreamTrack | None) -> None:
        self._resampler = _opus_input_resampler()
        self._ready.clear()
        super().attach(source)

    async def recv(self) -> AudioFrame:
        while not self._ready:
            if self.readyState != "live":
                raise MediaStreamError
            if self._source is None and not self._paused:
                self._ready.append(await self._paced_silence())
                continue
            got = await self._next_source_frame()
            if isinstance(got, AudioFrame):
                got.pts = None  # the resampler keeps its own count; a looping file restarts its pts
                self._ready.extend(self._resampler.resample(got))
        frame = self._ready.popleft()
        self.input_meter.add(audio_level_dbfs(frame) if self._source is not None else SILENCE_DBFS)
        if self.muted:
            frame = _silence_like(frame)
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, frame.sample_rate)
        self._samples += frame.samples
        for tap in self.taps:
            tap(frame)
        return frame

    async def _paced_silence(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic() - self._samples / SAMPLE_RATE
        delay = self._start + self._samples / SAMPLE_RATE - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_change(), delay)
        frame = silent_frame()
        frame.time_base = AUDIO_TIME_BASE
        return frame


def _opus_input_resampler() -> AudioResampler:
    return AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=FRAME_SAMPLES)


def _silence_like(frame: AudioFrame) -> AudioFrame:
    silent = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    for plane in silent.planes:
        plane.update(bytes(plane.buffer_size))
    silent.sample_rate = frame.sample_rate
    return silent


__all__ = ["FRAME_SAMPLES", "AudioFeedTrack", "VideoFeedTrack"]
