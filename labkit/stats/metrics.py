"""The metrics a media stats sample carries, named as ACS MediaStats names them."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    SEND = "send"
    RECEIVE = "receive"


class Kind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


COMMON = ("codec_name", "bitrate", "packets_per_second", "packets_lost_per_second", "jitter_in_ms")
"""Every direction and kind. ``bitrate`` is in bits per second."""

METRICS: dict[tuple[Direction, Kind], tuple[str, ...]] = {
    (Direction.SEND, Kind.AUDIO): (*COMMON, "rtt_in_ms", "pair_rtt_in_ms", "audio_input_level"),
    (Direction.RECEIVE, Kind.AUDIO): (
        *COMMON,
        "audio_output_level",
        "jitter_buffer_in_ms",
        "jitter_buffer_target_in_ms",
        "healed_ratio",
        "concealed_samples",
        "concealment_events",
    ),
    (Direction.SEND, Kind.VIDEO): (
        *COMMON,
        "rtt_in_ms",
        "pair_rtt_in_ms",
        "frame_rate_input",
        "frame_rate_encoded",
        "frame_rate_sent",
        "frame_width_sent",
        "frame_height_sent",
        "frames_sent",
        "target_bitrate",
    ),
    (Direction.RECEIVE, Kind.VIDEO): (
        *COMMON,
        "frame_rate_received",
        "frame_rate_decoded",
        "frame_width_received",
        "frame_height_received",
        "frames_received",
        "frames_decoded",
        "frames_dropped",
        "longest_freeze_duration_in_ms",
        "total_freeze_duration_in_ms",
        "jitter_buffer_in_ms",
        "nack_count",
        "pli_count",
    ),
}
"""Which metrics each (direction, kind) sample has. ``pair_rtt_in_ms`` is the round trip of the newest answered
ICE check or consent refresh (labkit times them; aioice measures none), ``None`` before the first.
``jitter_buffer_in_ms`` (ACS ``jitterBufferInMs``) is the mean wait in the receiver's jitter buffer over the
interval, from a packet's arrival to its frame's release; ``healed_ratio`` (ACS) the share of audio samples
concealed over the interval; ``concealed_samples``, ``concealment_events``, ``nack_count`` and ``pli_count``
are W3C ``RTCInboundRtpStreamStats`` totals (see ``labkit.media.receive_path``)."""

RAW_TO_DERIVED = {
    "outbound-rtp.bytesSent": "send bitrate (difference over the interval, x8)",
    "outbound-rtp.packetsSent": "send packets_per_second",
    "remote-inbound-rtp.packetsLost": "send packets_lost_per_second (from the peer's RTCP receiver reports)",
    "remote-inbound-rtp.jitter": "send jitter_in_ms (RTP clock units / clock rate)",
    "remote-inbound-rtp.roundTripTime": "send rtt_in_ms (from RTCP sender and receiver reports)",
    "inbound-rtp.packetsLost": "receive packets_lost_per_second",
    "inbound-rtp.jitter": "receive jitter_in_ms",
    "inbound-rtp.packetsReceived": "(labkit counts packets and bytes itself: receive bitrate, packets_per_second)",
}
"""How W3C ``getStats()`` fields become the derived metrics (the rest labkit counts itself)."""
