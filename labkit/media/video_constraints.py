"""Video constraints: the most a call may send (ACS ``VideoConstraints`` / ``OutgoingVideoConstraints``).

ACS web: ``call.setConstraints({video: {send: {frameHeight: {max: 240}, frameRate: {max: 10},
bitrate: {max: 300000}}}})``. labkit takes the same mapping (camelCase or snake_case keys),
or the dataclasses below. Resolution and frame rate apply at each sender's encoder input
(frames are scaled down, keeping their aspect, and dropped to the rate); the bitrate caps
the encoder's target, whatever the receiver's estimate (REMB) says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ArgumentError


@dataclass(frozen=True, slots=True)
class OutgoingVideoConstraints:
    """The most this agent's video may be (ACS ``OutgoingVideoConstraints``); ``None``: no limit."""

    max_width: int | None = None
    max_height: int | None = None
    max_frame_rate: float | None = None
    max_bitrate: int | None = None
    """Bits per second."""

    def __post_init__(self) -> None:
        for name, low, high in (
            ("max_width", 16, 7680),
            ("max_height", 16, 4320),
            ("max_frame_rate", 1, 120),
            ("max_bitrate", 30_000, 50_000_000),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise ArgumentError(f"{name} must be a number from {low} to {high}, or None; got {value!r}.")

    @property
    def is_open(self) -> bool:
        return self == OutgoingVideoConstraints()

    def fit(self, width: int, height: int) -> tuple[int, int]:
        """The largest size within the limits with ``width``x``height``'s aspect (even numbers, for yuv420p)."""
        scale = 1.0
        if self.max_width is not None and width > self.max_width:
            scale = min(scale, self.max_width / width)
        if self.max_height is not None and height > self.max_height:
            scale = min(scale, self.max_height / height)
        if scale >= 1.0:
            return width, height
        return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


@dataclass(frozen=True, slots=True)
class VideoConstraints:
    """What ``call.set_constraints`` takes (ACS ``VideoConstraints``); labkit constrains what is sent."""

    send: OutgoingVideoConstraints = OutgoingVideoConstraints()


_KEYS = {
    "frameWidth": "max_width",
    "frame_width": "max_width",
    "max_width": "max_width",
    "maxWidth": "max_width",
    "frameHeight": "max_height",
    "frame_height": "max_height",
    "max_height": "max_height",
    "maxHeight": "max_height",
    "frameRate": "max_frame_rate",
    "frame_rate": "max_frame_rate",
    "max_frame_rate": "max_frame_rate",
    "maxFrameRate": "max_frame_rate",
    "bitrate": "max_bitrate",
    "max_bitrate": "max_bitrate",
    "maxBitrate": "max_bitrate",
}


def video_constraints(value: VideoConstraints | OutgoingVideoConstraints | Mapping[str, Any]) -> VideoConstraints:
    """``value`` as ``VideoConstraints``: the dataclasses, or ACS web's ``{video: {send: {...}}}`` mapping."""
    if isinstance(value, VideoConstraints):
        return value
    if isinstance(value, OutgoingVideoConstraints):
        return VideoConstraints(send=value)
    if not isinstance(value, Mapping):
        raise ArgumentError(
            "set_constraints takes VideoConstraints or {'video': {'send': {'frameHeight': {'max': 240}}}}."
        )
    unknown = set(value) - {"video"}
    video = value.get("video", {})
    if unknown or not isinstance(video, Mapping) or set(video) - {"send"}:
        raise ArgumentError(
            "Constraints look like {'video': {'send': {'frameHeight': {'max': 240}, 'frameRate': {'max': 10}, "
            "'bitrate': {'max': 300000}}}}; labkit constrains what it sends."
        )
    send = video.get("send", {})
    if not isinstance(send, Mapping):
        raise ArgumentError("constraints['video']['send'] is a mapping such as {'frameHeight': {'max': 240}}.")
    limits: dict[str, Any] = {}
    for key, limit in send.items():
        name = _KEYS.get(key)
        if name is None:
            raise ArgumentError(
                f"Unknown video send constraint {key!r}: use frameWidth, frameHeight, frameRate, bitrate."
            )
        limits[name] = limit.get("max") if isinstance(limit, Mapping) else limit
    return VideoConstraints(send=OutgoingVideoConstraints(**limits))


__all__ = ["OutgoingVideoConstraints", "VideoConstraints", "video_constraints"]
