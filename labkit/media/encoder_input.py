"""Frames of its own for each encoder.

aiortc encodes in executor threads. A frame fanned out to several peer connections (a
group call) would be converted and stamped by several encoders at once, and PyAV's
per-frame converter is not thread-safe (that crashes). This track sits in front of one
sender and copies each frame on the engine thread, so nothing that reaches an encoder is shared.
"""

from __future__ import annotations

from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.video.reformatter import VideoReformatter

from .frame_copy import own_audio_copy, own_video_copy


class EncoderInputTrack(MediaStreamTrack):
    """Private copies of ``source``'s frames for one RTP sender."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._reformatter = VideoReformatter()

    async def recv(self) -> VideoFrame | AudioFrame:
        frame = await self._source.recv()
        if isinstance(frame, VideoFrame):
            return own_video_copy(frame, self._reformatter)
        assert isinstance(frame, AudioFrame)
        return own_audio_copy(frame)

    def stop(self) -> None:
        super().stop()
        self._source.stop()
