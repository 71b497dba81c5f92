"""Frames of its own for each encoder, on a clock of its own.

aiortc encodes in executor threads. A frame fanned out to several peer connections (a
group call) or shared with a preview would be converted and stamped by several threads
at once, and PyAV's per-frame converter is not thread-safe (that crashes). This track sits
in front of one sender. It converts each frame into a private yuv420p copy with a
converter of its own (in an executor thread, as aiortc's encoder would), and stamps it on
its own continuous 90 kHz clock, so a camera switch or a pause never sends time backwards.
Its ``constraints`` (ACS ``OutgoingVideoConstraints``) scale frames down and drop them to a
frame rate before the encoder sees them. And as the encoder's target bitrate falls, it
lowers the resolution (W3C ``degradationPreference: "maintain-framerate"``, as libwebrtc
does): VP8 at 640x480 cannot get much below 200 kbit/s, so without it a narrow link
overflows whatever the target says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.video.reformatter import VideoReformatter

from .frame_copy import own_audio_copy, own_video_copy
from .synthetic_camera import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE
from .video_constraints import OutgoingVideoConstraints

RESOLUTION_LADDER = ((250_000, 1.0), (150_000, 0.75), (80_000, 0.5), (0, 0.25))
"""(from this target bitrate, the share of each side of the picture kept), highest first."""
STEP_UP_MARGIN = 1.2
"""A step up waits for the target to clear the step's floor by this much, so the size does not flap."""
STEP_DOWN_AFTER = 1.0
"""Seconds the target must stay below a step's floor before the picture shrinks (a dip at call start does not)."""


class EncoderInputTrack(MediaStreamTrack):
    """Private, restamped copies of ``source``'s frames for one RTP sender."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._reformatter = VideoReformatter()
        self._start = time.monotonic()
        self._last_pts = -1
        self.frames = 0
        """Frames handed to the encoder so far."""
        self.frame_size = (0, 0)
        """(width, height) of the last one."""
        self.constraints = OutgoingVideoConstraints()
        """The most the frames may be: their size and rate (video; set by ``call.set_constraints``)."""
        self._last_sent = -1e9
        self.target_bitrate: Callable[[], float | None] | None = None
        """The encoder's target in bit/s (set by the link); the resolution follows it."""
        self.scale = 1.0
        """The share of each side kept for the bitrate (1.0: the full picture)."""
        self._below_since: float | None = None

    def _follow_bitrate(self) -> float:
        target = self.target_bitrate() if self.target_bitrate is not None else None
        if target is None:
            return self.scale
        wanted = next(scale for floor, scale in RESOLUTION_LADDER if target >= floor)
        if wanted > self.scale:  # up only with a margin
            wanted = max(
                self.scale, next(scale for floor, scale in RESOLUTION_LADDER if target >= floor * STEP_UP_MARGIN)
            )
        if wanted < self.scale:  # down only once the target has stayed low
            now = time.monotonic()
            if self._below_since is None:
                self._below_since = now
            if now - self._below_since < STEP_DOWN_AFTER:
                return self.scale
        self._below_since = None
        self.scale = wanted
        return wanted

    async def recv(self) -> VideoFrame | AudioFrame:
        frame = await self._source.recv()
        if isinstance(frame, AudioFrame):
            return own_audio_copy(frame)  # the audio feed's clock is already continuous
        assert isinstance(frame, VideoFrame)
        limit = self.constraints.max_frame_rate
        while limit is not None and time.monotonic() - self._last_sent < 0.9 / limit:
            frame = await self._source.recv()  # too soon for the frame rate: dropped before the encoder
            limit = self.constraints.max_frame_rate
            assert isinstance(frame, VideoFrame)
        self._last_sent = time.monotonic()
        scale = self._follow_bitrate()
        width, height = frame.width, frame.height
        if scale < 1.0:
            width, height = max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)
        size = self.constraints.fit(width, height)
        loop = asyncio.get_running_loop()
        copy = await loop.run_in_executor(None, own_video_copy, frame, self._reformatter, size)
        pts = max(self._last_pts + 1, int((time.monotonic() - self._start) * VIDEO_CLOCK_RATE))
        self._last_pts = pts
        copy.pts, copy.time_base = pts, VIDEO_TIME_BASE
        self.frames += 1
        self.frame_size = (copy.width, copy.height)
        return copy

    def stop(self) -> None:
        super().stop()
        self._source.stop()
