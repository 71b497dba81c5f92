"""Options for starting, joining and accepting calls. ACS: ``AudioOptions``, ``VideoOptions``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .local_video_stream import LocalVideoStream


@dataclass(frozen=True, slots=True)
class AudioOptions:
    """ACS: ``AudioOptions`` (``muted``)."""

    muted: bool = False


@dataclass(frozen=True, slots=True)
class VideoOptions:
    """ACS: ``VideoOptions`` (``localVideoStreams``). At most one stream is sent."""

    local_video_streams: Sequence[LocalVideoStream] = field(default_factory=tuple)


def audio_options(value: AudioOptions | dict[str, Any] | None) -> AudioOptions:
    if value is None:
        return AudioOptions()
    if isinstance(value, AudioOptions):
        return value
    return AudioOptions(muted=bool(value.get("muted", False)))


def video_options(value: VideoOptions | LocalVideoStream | dict[str, Any] | None) -> VideoOptions:
    """Accepts ``VideoOptions``, a bare ``LocalVideoStream``, or ``{"local_video_streams": [...]}``."""
    if value is None:
        return VideoOptions()
    if isinstance(value, VideoOptions):
        return value
    if isinstance(value, LocalVideoStream):
        return VideoOptions((value,))
    streams = value.get("local_video_streams", value.get("localVideoStreams", ()))
    return VideoOptions(tuple(streams))
