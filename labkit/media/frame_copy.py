"""Private copies of frames that others may hold too.

A camera frame can reach several calls, previews and encoders at once. PyAV frames carry
mutable state (``pts``, ``time_base``, ``pict_type`` and a cached converter that is not
thread-safe), so whoever changes a frame, or hands it to another thread, takes a copy first.
"""

from __future__ import annotations

from av import AudioFrame, VideoFrame
from av.video.reformatter import VideoReformatter


def own_video_copy(frame: VideoFrame, reformatter: VideoReformatter, size: tuple[int, int] | None = None) -> VideoFrame:
    """A yuv420p copy of ``frame`` (the encoder's format), scaled to ``size`` if given, with the caller's converter."""
    width, height = size if size is not None else (frame.width, frame.height)
    copy = reformatter.reformat(frame, format="yuv420p", width=width, height=height)
    if copy is frame:  # already yuv420p: the converter returned the frame itself
        copy = VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
    copy.pts, copy.time_base = frame.pts, frame.time_base
    return copy


def own_audio_copy(frame: AudioFrame) -> AudioFrame:
    copy = AudioFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name)
    copy.sample_rate = frame.sample_rate
    copy.pts, copy.time_base = frame.pts, frame.time_base
    return copy
