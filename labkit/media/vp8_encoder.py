"""``Vp8Encoder``: aiortc's VP8 encoder with keyframes kept small enough for a narrow link.

aiortc's ``Vp8Encoder`` sets no ``max-intra-rate`` (libvpx ``rc_max_intra_bitrate_pct``), so a
keyframe may take a second's worth of the target bitrate, sent in one burst. Through a
300 kbit/s bottleneck with a quarter second of queue such a keyframe never arrives whole,
and a receiver that lost a packet for good waits for one in vain. libwebrtc caps a
keyframe at 3 times an average frame for real-time video; so does this encoder. It is
aiortc's own, except that the libvpx options it sets when it (re)opens the codec gain
``max-intra-rate``. ``PeerConnection`` gives one to each VP8 sender (fault 8).
"""

from __future__ import annotations

from typing import Any, Final

from aiortc.codecs.vpx import Vp8Encoder as AiortcVp8Encoder

MAX_INTRA_RATE: Final = "300"
"""A keyframe's size at most, in % of an average frame's (libwebrtc's value for real-time video)."""


class _CodecContext:
    """A libvpx codec context whose ``options``, when aiortc sets them, also cap keyframes."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "options":
            value = {**value, "max-intra-rate": MAX_INTRA_RATE}
        setattr(self._inner, name, value)


class Vp8Encoder(AiortcVp8Encoder):
    """aiortc's VP8 encoder, its keyframes at most ``MAX_INTRA_RATE`` % of an average frame."""

    @property
    def codec(self) -> Any:
        return self._codec

    @codec.setter
    def codec(self, value: Any) -> None:
        self._codec = _CodecContext(value) if value is not None else None


__all__ = ["MAX_INTRA_RATE", "Vp8Encoder"]
