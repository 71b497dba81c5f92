"""RTP and RTCP packets decoded: headers, header extensions and every RTCP report (RFC 3550, 4585, 5104).

The packets come from a link's ``PacketCapture`` in the clear; here each becomes a row a
person can read. RTP: SSRC, payload type, sequence number, timestamp, marker and the
header extensions (mid, abs-send-time, audio level). RTCP: sender and receiver reports
with their report blocks, SDES, BYE, NACK with the lost sequence numbers, PLI, FIR and
REMB with its bitrate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from ..media.packet_capture import CapturedPacket

PSFB_NAMES = {1: "PLI", 2: "SLI", 3: "RPSI", 4: "FIR", 15: "REMB"}
RTPFB_NAMES = {1: "NACK", 15: "transport-cc"}


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """One RTP packet's header, decoded."""

    time: float
    direction: str
    kind: str
    """``audio``, ``video`` or ``rtx`` (a retransmission), from the negotiated payload types."""
    ssrc: int
    payload_type: int
    sequence_number: int
    timestamp: int
    marker: bool
    """Set on a video frame's last packet (and an audio talk spurt's first)."""
    payload_size: int
    padding_size: int
    mid: str | None = None
    abs_send_time: int | None = None
    audio_level: int | None = None
    """-dBov of the packet's audio (0 loudest, 127 silence), from the ssrc-audio-level extension."""


@dataclass(frozen=True, slots=True)
class RtcpReport:
    """One RTCP packet, decoded: ``type`` is SR, RR, SDES, BYE, NACK, PLI, FIR, REMB, ..."""

    time: float
    direction: str
    type: str
    ssrc: int
    media_ssrc: int | None = None
    fields: dict[str, object] = field(default_factory=dict)
    """What the packet says: sender info and report blocks, lost sequence numbers, a bitrate, ..."""


def kinds_by_payload_type(codecs: Mapping[str, Sequence[RTCRtpCodecParameters]]) -> dict[int, str]:
    """Payload type -> ``audio``, ``video`` or ``rtx``, from a link's negotiated codecs."""
    kinds: dict[int, str] = {}
    for kind, listed in codecs.items():
        for codec in listed:
            if codec.payloadType is not None:
                kinds[int(codec.payloadType)] = "rtx" if codec.mimeType.lower().endswith("/rtx") else kind
    return kinds


def extensions_map(extensions: Mapping[str, Sequence[RTCRtpHeaderExtensionParameters]]) -> HeaderExtensionsMap:
    """aiortc's parser for the header extensions a link negotiated."""
    mapping = HeaderExtensionsMap()
    every = {ext.id: ext for listed in extensions.values() for ext in listed}
    mapping.configure(RTCRtpParameters(headerExtensions=list(every.values())))
    return mapping


def decode_rtp(
    packets: Iterable[CapturedPacket], kinds: Mapping[int, str], extensions: HeaderExtensionsMap
) -> list[RtpHeader]:
    """The RTP packets among ``packets``, decoded (RTCP and unparsable packets are left out)."""
    headers = []
    for captured in packets:
        if captured.is_rtcp:
            continue
        try:
            packet = RtpPacket.parse(captured.data, extensions)
        except ValueError:
            continue
        level = packet.extensions.audio_level
        headers.append(
            RtpHeader(
                time=captured.time,
                direction=captured.direction,
                kind=kinds.get(packet.payload_type, "unknown"),
                ssrc=packet.ssrc,
                payload_type=packet.payload_type,
                sequence_number=packet.sequence_number,
                timestamp=packet.timestamp,
                marker=bool(packet.marker),
                payload_size=len(packet.payload),
                padding_size=packet.padding_size,
                mid=packet.extensions.mid,
                abs_send_time=packet.extensions.abs_send_time,
                audio_level=level[1] if level is not None else None,
            )
        )
    return headers


def decode_rtcp(packets: Iterable[CapturedPacket]) -> list[RtcpReport]:
    """Every RTCP packet among ``packets`` (a compound packet gives one report per part)."""
    reports = []
    for captured in packets:
        if not captured.is_rtcp:
            continue
        try:
            parts = RtcpPacket.parse(captured.data)
        except ValueError:
            continue
        for part in parts:
            reports.append(_report(captured, part))
    return reports


def _blocks(reports: Sequence[object]) -> list[dict[str, object]]:
    return [
        {
            "ssrc": block.ssrc,  # type: ignore[attr-defined]
            "fraction_lost": block.fraction_lost / 256,  # type: ignore[attr-defined]
            "packets_lost": block.packets_lost,  # type: ignore[attr-defined]
            "highest_sequence": block.highest_sequence,  # type: ignore[attr-defined]
            "jitter": block.jitter,  # type: ignore[attr-defined]
            "lsr": block.lsr,  # type: ignore[attr-defined]
            "dlsr_seconds": block.dlsr / 65536,  # type: ignore[attr-defined]
        }
        for block in reports
    ]


def _report(captured: CapturedPacket, part: object) -> RtcpReport:
    at, direction = captured.time, captured.direction
    if isinstance(part, RtcpSrPacket):
        info = part.sender_info
        sender = {
            "ntp_timestamp": info.ntp_timestamp,
            "rtp_timestamp": info.rtp_timestamp,
            "packet_count": info.packet_count,
            "octet_count": info.octet_count,
        }
        return RtcpReport(at, direction, "SR", part.ssrc, None, {**sender, "reports": _blocks(part.reports)})
    if isinstance(part, RtcpRrPacket):
        return RtcpReport(at, direction, "RR", part.ssrc, None, {"reports": _blocks(part.reports)})
    if isinstance(part, RtcpSdesPacket):
        sdes_names = {1: "CNAME", 2: "NAME", 6: "TOOL"}
        items = {
            str(chunk.ssrc): {
                sdes_names.get(kind, str(kind)): value.decode(errors="replace") for kind, value in chunk.items
            }
            for chunk in part.chunks
        }
        first = part.chunks[0].ssrc if part.chunks else 0
        return RtcpReport(at, direction, "SDES", first, None, {"chunks": items})
    if isinstance(part, RtcpByePacket):
        return RtcpReport(at, direction, "BYE", part.sources[0] if part.sources else 0, None, {"sources": part.sources})
    if isinstance(part, RtcpRtpfbPacket):
        name = RTPFB_NAMES.get(part.fmt, f"RTPFB fmt {part.fmt}")
        return RtcpReport(at, direction, name, part.ssrc, part.media_ssrc, {"lost": list(part.lost)})
    if isinstance(part, RtcpPsfbPacket):
        name = PSFB_NAMES.get(part.fmt, f"PSFB fmt {part.fmt}")
        fields: dict[str, object] = {}
        if part.fmt == 15:
            try:
                bitrate, ssrcs = unpack_remb_fci(part.fci)
            except ValueError:
                name = "PSFB application"
            else:
                fields = {"bitrate": bitrate, "ssrcs": ssrcs}
        return RtcpReport(at, direction, name, part.ssrc, part.media_ssrc, fields)
    return RtcpReport(at, direction, type(part).__name__, 0)
