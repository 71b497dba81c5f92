"""Frames of its own for each encoder, on a clock of its own.

aiortc encodes in executor threads. A frame fanned out to several peer connections (a
group call) or shared with a preview would be converted and stamped by several threads
at once, and PyAV's per-frame converter is not thread-safe (that crashes). This track sits
in front of one sender. It converts each frame into a private yuv420p copy with a
converter of its own (in an executor thread, as aiortc's encoder would), and stamps it on
its own continuous 90 kHz clock, so a camera switch or a pause never sends time backwards.
Its ``constraints`` (ACS ``OutgoingVideoConstraints``) scale frames down and drop them to a
frame rate before the encoder sees them.
"""

from __future__ import annotations

import asyncio
import time

from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.video.reformatter import VideoReformatter

from .frame_copy import own_audio_copy, own_video_copy
from .synthetic_camera import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE
from .video_constraints import OutgoingVideoConstraints


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
        size = self.constraints.fit(frame.width, frame.height)
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
