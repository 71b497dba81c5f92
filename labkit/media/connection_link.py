"""``ConnectionLink``: a ``MediaLink`` over one ``PeerConnection``, from what the connection itself knows (labkit).

``PeerLink`` (a peer of a call's mesh) extends it with negotiation, hold and the
counters it keeps; the browser bridge's connection to its notebook page is one as it is,
so the inspector reads either the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aioice import Candidate
from aiortc import RTCConfiguration, RTCPeerConnection, RTCStatsReport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters

from .encoder_input import EncoderInputTrack
from .ice_checks import IceCheckLog
from .network_conditions import Direction, Impairment, NetworkConditions
from .packet_capture import PacketCapture
from .peer_connection import Description, DtlsDescription, PeerConnection
from .receive_path import Path as ReceivePathName
from .receive_path import ReceiveStats
from .rtp_counter import RtpReceiveCounter


class ConnectionLink:
    """The read-only view of ``pc``, a connection to ``remote_id``."""

    def __init__(self, remote_id: str, pc: PeerConnection) -> None:
        self.remote_id = remote_id
        self.direction: str = "sendrecv"
        self.pc = pc
        self.received: dict[str, RtpReceiveCounter] = {}
        """Received RTP per kind, where the link counts it (a ``PeerLink`` does)."""

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    @property
    def failure(self) -> str | None:
        """What failed, once the connection has: ``"ice"`` (no path), ``"dtls"`` (a path, no handshake)."""
        if self.connection_state != "failed":
            return None
        return "dtls" if self.pc.iceConnectionState in ("connected", "completed") else "ice"

    @property
    def is_stalled(self) -> bool:
        return False

    def silence(self) -> float:
        return 0.0

    @property
    def encoder_inputs(self) -> Mapping[str, EncoderInputTrack]:
        return {}

    @property
    def peer_connection(self) -> RTCPeerConnection:
        return self.pc

    @property
    def configuration(self) -> RTCConfiguration:
        return self.pc.configuration

    @property
    def ice_connection_state(self) -> str:
        return str(self.pc.iceConnectionState)

    @property
    def dtls_state(self) -> str:
        for transceiver in self.pc.getTransceivers():
            return str(transceiver.sender.transport.state)
        return "new"

    def negotiated_codecs(self) -> dict[str, tuple[RTCRtpCodecParameters, ...]]:
        return self.pc.negotiated_codecs()

    def target_bitrate(self, kind: str) -> float | None:
        return self.pc.target_bitrate(kind)

    def selected_candidate_pair(self) -> tuple[Candidate, Candidate] | None:
        return self.pc.selected_candidate_pair()

    async def get_stats(self) -> RTCStatsReport:
        return await self.pc.getStats()

    def negotiated_header_extensions(self) -> dict[str, tuple[RTCRtpHeaderExtensionParameters, ...]]:
        return self.pc.negotiated_header_extensions()

    @property
    def descriptions(self) -> Sequence[Description]:
        return tuple(self.pc.descriptions)

    @property
    def timeline(self) -> Sequence[tuple[float, str, str]]:
        return tuple(self.pc.timeline)

    @property
    def ice_checks(self) -> IceCheckLog:
        return self.pc.ice_checks

    def dtls(self) -> DtlsDescription | None:
        return self.pc.dtls()

    @property
    def packet_capture(self) -> PacketCapture:
        return self.pc.capture

    @property
    def impairments(self) -> Mapping[Direction, Impairment]:
        return self.pc.impairments

    def set_conditions(self, direction: Direction, conditions: NetworkConditions) -> None:
        self.pc.set_conditions(direction, conditions)

    @property
    def receive_path(self) -> ReceivePathName:
        return self.pc.receive_path

    def set_receive_path(self, path: ReceivePathName) -> None:
        self.pc.set_receive_path(path)

    def set_jitter_buffer_target(self, kind: str, target_ms: float | None) -> None:
        self.pc.set_jitter_buffer_target(kind, target_ms)

    def receive_stats(self) -> Mapping[str, ReceiveStats]:
        return self.pc.receive_stats()

    def set_max_bitrate(self, kind: str, bitrate: int | None) -> None:
        self.pc.set_max_bitrate(kind, bitrate)
