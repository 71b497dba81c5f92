"""``ReceivePath``: what sits in an aiortc ``RTCRtpReceiver`` in place of its jitter buffer (W3C ``RTCRtpReceiver``).

One per receiver. It takes each depayloaded RTP packet where aiortc's ``JitterBuffer``
would, and, on labkit's path (the default), hands it to ``VideoJitterBuffer`` (frames
released on completion) or ``AudioJitterBuffer`` (Opus, concealed and adaptive); on
aiortc's path, to aiortc's own ``JitterBuffer``, as a baseline to compare with. The
path can be switched mid-call. ``PeerConnection`` installs it and gives it the few
receiver callbacks it needs (``ReceiverPorts``); nothing here touches aiortc's insides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRtpfbPacket

from .audio_jitter_buffer import AudioJitterBuffer
from .jitter_buffer import JitterBufferStats, Scheduler
from .video_jitter_buffer import VideoJitterBuffer

logger = logging.getLogger(__name__)

Path = Literal["labkit", "aiortc"]
PATHS: Final[tuple[Path, ...]] = ("labkit", "aiortc")


@dataclass(frozen=True, slots=True)
class ReceiverPorts:
    """The receiver's side of the seam: how frames reach its decoder and track, and how it asks for a keyframe."""

    codec_of: Callable[[int], RTCRtpCodecParameters | None]
    """The codec negotiated for a payload type."""
    decode: Callable[[RTCRtpCodecParameters, JitterFrame], None]
    """Queue an encoded frame for aiortc's decoder thread."""
    play: Callable[[bytes, int], None]
    """Put decoded audio (48 kHz stereo s16) on the remote track, with its time in samples."""
    request_keyframe: Callable[[int], None]
    """Send a picture loss indication for an SSRC."""
    nack: Callable[[int, list[int]], None]
    """Send a NACK for an SSRC's missing sequence numbers."""
    rtt: Callable[[], float | None]
    """The connection's round-trip time in seconds, as its senders measure it; ``None`` before the first."""
    own_nacks: Callable[[bool], None]
    """``True``: labkit's buffer sends the NACKs, aiortc's receiver none; ``False``: aiortc's again."""


@dataclass(slots=True)
class ReceiveStats:
    """One receiver's receive path, as the stats read it (W3C ``RTCInboundRtpStreamStats``)."""

    kind: str
    path: Path
    codec: str
    target_ms: float | None
    jitter_buffer: JitterBufferStats = field(default_factory=JitterBufferStats)
    nack_count: int = 0
    """NACK packets sent (W3C ``nackCount``)."""
    pli_count: int = 0
    """Picture loss indications sent, whoever asked (W3C ``pliCount``)."""


class ReceivePath:
    """aiortc's ``JitterBuffer`` interface (``add``), over labkit's or aiortc's buffer for one receiver."""

    def __init__(self, kind: str, ports: ReceiverPorts, scheduler: Scheduler, path: Path = "labkit") -> None:
        self.kind = kind
        self._ports = ports
        self._scheduler = scheduler
        self._path: Path = path
        self._codec: RTCRtpCodecParameters | None = None
        self._buffer: AudioJitterBuffer | VideoJitterBuffer | JitterBuffer | None = None
        self._ssrc = 0
        self._target_ms: float | None = None
        self._retired = JitterBufferStats()  # what earlier buffers of this receiver counted
        self.nack_count = 0
        self.pli_count = 0
        self.closed = False

    # --- the knobs --------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @path.setter
    def path(self, path: Path) -> None:
        if path not in PATHS:
            raise ValueError(f"receive path must be one of {PATHS}, not {path!r}")
        if path != self._path:
            self._path = path
            self._retire()

    @property
    def target_ms(self) -> float | None:
        """The jitter-buffer target in ms (W3C ``jitterBufferTarget``); ``None``: audio adapts, video goes at once."""
        return self._target_ms

    @target_ms.setter
    def target_ms(self, target: float | None) -> None:
        if target is not None and not 0 <= target <= 4000:
            raise ValueError(f"a jitter-buffer target is 0 to 4000 ms (W3C), not {target}")
        self._target_ms = target
        if isinstance(self._buffer, AudioJitterBuffer):
            self._buffer.target_ms = target
        elif isinstance(self._buffer, VideoJitterBuffer):
            self._buffer.target_ms = target or 0.0

    # --- what aiortc's receiver calls -------------------------------------------------

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        if self.closed:
            return False, None
        self._ssrc = int(packet.ssrc)
        codec = self._ports.codec_of(int(packet.payload_type))
        if codec is None:
            return False, None
        if self._buffer is None or codec is not self._codec:
            self._retire()
            self._codec = codec
            self._buffer = self._make_buffer(codec)
        return self._buffer.add(packet)

    def reset(self) -> None:
        """A stream starts again (after a hold): fresh buffers, which wait for a keyframe."""
        self._retire()

    def close(self) -> None:
        self.closed = True
        self._retire()

    def note_rtcp(self, packet: object) -> None:
        """Count the feedback this receiver sends (NACK, PLI)."""
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.nack_count += 1
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            self.pli_count += 1

    # --- stats ------------------------------------------------------------------------

    def stats(self) -> ReceiveStats:
        totals = JitterBufferStats()
        totals.add(self._retired)
        if isinstance(self._buffer, (AudioJitterBuffer, VideoJitterBuffer)):
            totals.add(self._buffer.stats)
        codec = self._codec.mimeType.split("/")[-1] if self._codec is not None else ""
        return ReceiveStats(self.kind, self._path, codec, self._target_ms, totals, self.nack_count, self.pli_count)

    # --- inside -------------------------------------------------------------------------

    def _make_buffer(self, codec: RTCRtpCodecParameters) -> AudioJitterBuffer | VideoJitterBuffer | JitterBuffer:
        name = codec.mimeType.split("/")[-1].lower()
        if self._path == "aiortc" or (self.kind == "audio" and name != "opus"):
            # aiortc's own buffers, as RTCRtpReceiver makes them
            if self.kind == "video":
                self._ports.own_nacks(False)
            if self.kind == "audio":
                return JitterBuffer(capacity=16, prefetch=4)
            return JitterBuffer(capacity=512, is_video=True)
        if self.kind == "audio":
            return AudioJitterBuffer(self._ports.play, self._scheduler, self._target_ms)
        self._ports.own_nacks(True)
        return VideoJitterBuffer(
            lambda frame: self._ports.decode(codec, frame),
            lambda: self._ports.request_keyframe(self._ssrc),
            self._scheduler,
            codec=name,
            target_ms=self._target_ms or 0.0,
            nack=lambda lost: self._ports.nack(self._ssrc, lost),
            rtt=self._ports.rtt,
        )

    def _retire(self) -> None:
        buffer, self._buffer = self._buffer, None
        if isinstance(buffer, (AudioJitterBuffer, VideoJitterBuffer)):
            self._retired.add(buffer.stats)
            buffer.close()


__all__ = ["PATHS", "Path", "ReceivePath", "ReceiveStats", "ReceiverPorts"]
