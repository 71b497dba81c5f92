"""``MediaLink``: the read-only view of one media path to one remote participant (labkit).

W3C: what an ``RTCPeerConnection`` and its transceivers expose (states, transports,
``getStats()``), plus what labkit counts itself (received RTP, encoder input). The
calling layer publishes its links as ``MediaLink``s, and the features above it (stats,
diagnostics, recording, the inspector) read them and nothing else. ``PeerLink`` (one
peer connection of a mesh) is one; a link to an SFU can be another, without the
features changing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aioice import Candidate
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCStatsReport
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters

    from .encoder_input import EncoderInputTrack
    from .ice_checks import IceCheckLog
    from .network_conditions import Direction, Impairment, NetworkConditions
    from .packet_capture import PacketCapture
    from .peer_connection import Description, DtlsDescription
    from .receive_path import Path as ReceivePathName
    from .receive_path import ReceiveStats
    from .rtp_counter import RtpReceiveCounter


class MediaLink(Protocol):
    """One remote participant's media path, as the layers above the call read it."""

    @property
    def remote_id(self) -> str:
        """The remote participant's user id (``"sfu"``: the link that publishes to the SFU)."""

    @property
    def direction(self) -> str:
        """``sendrecv`` (a mesh peer), ``sendonly`` (publishing to an SFU), ``recvonly`` (one feed from an SFU)."""

    @property
    def connection_state(self) -> str:
        """W3C ``RTCPeerConnectionState``: new, connecting, connected, disconnected, failed, closed."""

    @property
    def ice_connection_state(self) -> str:
        """W3C ``RTCIceConnectionState``."""

    @property
    def dtls_state(self) -> str:
        """W3C ``RTCDtlsTransportState`` of the (bundled) transport: new, connecting, connected, closed, failed."""

    @property
    def failure(self) -> str | None:
        """Once failed: ``"ice"`` (no path) or ``"dtls"`` (a path, no handshake)."""

    @property
    def is_stalled(self) -> bool:
        """Connected, but nothing has arrived for a while: the peer may be frozen or gone."""

    def silence(self) -> float:
        """Seconds since anything (RTP or RTCP) arrived; 0.0 unless connected."""

    @property
    def received(self) -> Mapping[str, RtpReceiveCounter]:
        """Received RTP per kind ("audio", "video"): packets, bytes, frames."""

    @property
    def encoder_inputs(self) -> Mapping[str, EncoderInputTrack]:
        """What each sender encodes, per kind: frames and frame size."""

    def negotiated_codecs(self) -> dict[str, tuple[RTCRtpCodecParameters, ...]]:
        """The codecs the last negotiation chose, per kind."""

    def target_bitrate(self, kind: str) -> float | None:
        """The ``kind`` encoder's congestion-control target in bit/s, or ``None``."""

    def selected_candidate_pair(self) -> tuple[Candidate, Candidate] | None:
        """The (local, remote) ICE candidates media flows over, once ICE has chosen."""

    async def get_stats(self) -> RTCStatsReport:
        """W3C ``getStats()``."""

    def negotiated_header_extensions(self) -> dict[str, tuple[RTCRtpHeaderExtensionParameters, ...]]:
        """The RTP header extensions (``a=extmap``) the last negotiation chose, per kind."""

    @property
    def descriptions(self) -> Sequence[Description]:
        """Every session description applied, local and remote, in order."""

    @property
    def timeline(self) -> Sequence[tuple[float, str, str]]:
        """(time.monotonic(), what, state) of each signaling, ICE, DTLS and connection state change."""

    @property
    def ice_checks(self) -> IceCheckLog:
        """Every ICE connectivity check, nomination and consent refresh, timed."""

    def dtls(self) -> DtlsDescription | None:
        """What the DTLS handshake settled: role, version, cipher, SRTP profile, fingerprints."""

    @property
    def packet_capture(self) -> PacketCapture:
        """The link's RTP and RTCP in the clear, while it is on."""

    @property
    def impairments(self) -> Mapping[Direction, Impairment]:
        """What the network lab does to each direction of the link, and what it did (counts)."""

    def set_conditions(self, direction: Direction, conditions: NetworkConditions) -> None:
        """Impair one direction of the link from now on (engine thread): the network lab's one write."""

    @property
    def receive_path(self) -> ReceivePathName:
        """Whose jitter buffers the link's receivers use: ``"labkit"`` (default) or ``"aiortc"`` (a baseline)."""

    def set_receive_path(self, path: ReceivePathName) -> None:
        """Switch the link's receivers to labkit's or aiortc's jitter buffers (engine thread)."""

    def set_jitter_buffer_target(self, kind: str, target_ms: float | None) -> None:
        """W3C ``RTCRtpReceiver.jitterBufferTarget`` of the link's ``kind`` receiver, in ms (engine thread)."""

    def receive_stats(self) -> Mapping[str, ReceiveStats]:
        """Each receiver's jitter buffer, concealment, NACK and PLI counters, by kind."""

    def set_max_bitrate(self, kind: str, bitrate: int | None) -> None:
        """Cap what the link's ``kind`` encoder aims for, in bit/s (engine thread; ACS ``bitrate`` constraint)."""

    @property
    def configuration(self) -> RTCConfiguration:
        """The ICE servers and policies of the link's connection (W3C ``getConfiguration()``)."""

    @property
    def peer_connection(self) -> RTCPeerConnection:
        """The aiortc peer connection, to look under the hood (read it; do not change it)."""
