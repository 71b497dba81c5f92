"""``PeerConnection``: aiortc's ``RTCPeerConnection`` (W3C) made to work with every WebRTC stack.

(Some 500 lines, on purpose: this is the one module that touches aiortc's and aioice's
private members, so ruff's ``SLF001`` is lifted here alone; split, they would spread.)

aiortc has faults that break calls with browsers and GStreamer, or bad networks. Each is worked
around here, in this one place, on this instance only (no aiortc class is patched):

1. **DTLS cipher suites.** ``RTCCertificate._create_ssl_context`` offers only ECDHE-ECDSA
   suites, so as the DTLS client it cannot talk to a peer with an RSA certificate
   (GStreamer's ``webrtcbin``: "no shared cipher"). This connection's certificate offers
   the ECDHE-RSA suites as well.
2. **Re-offers renumber.** ``createOffer`` rebuilds every m-line from aiortc's fixed
   payload types and header-extension ids. When the peer made the first offer, those are
   not the numbers already negotiated, and the peer refuses the re-offer (Firefox: "attempted
   to remap RTP extension id"). Re-offers here keep the negotiated codecs and extension ids.
3. **Parameters applied once.** ``RTCRtpSender.send``, ``RTCRtpReceiver.receive`` and the
   RTP router take codec parameters only from the first negotiation. When a peer's re-offer
   moves a codec to another payload type (Firefox does, after ``setCodecPreferences``), aiortc
   answers with the new number but keeps sending and accepting the old one. Here the RTP
   payload types are mapped at the DTLS transport: aiortc goes on with the numbers it started
   with, and the wire carries the ones negotiated last. The same wrappers hand each clear
   packet, as the wire has it, to the connection's ``PacketCapture`` (the inspector's).
4. **RTCP BYE.** ``RTCRtpReceiver`` stops its decoder for good when a BYE arrives, and
   Firefox sends one whenever its sending stops (hold). Here receivers never see a BYE: a
   stream that stops is judged by its silence (``liveness``), and one that resumes plays.
5. **Resume.** After a hold, the video jitter buffer still waits for the sequence number
   before the hold, and asks for no keyframe until a 512-packet gap. Here, once a
   negotiation lets media flow again, each video receiver starts a fresh jitter buffer and
   sends a picture loss indication (PLI), so the peer's next keyframe comes at once.
6. **The jitter buffers.** aiortc's video buffer releases a frame only when the next
   one starts (about 33 ms late at 30 fps), and its audio buffer stops at the first lost
   packet with nothing to conceal it. Each receiver's ``JitterBuffer`` is replaced by a
   ``ReceivePath`` (labkit's buffers, or aiortc's own as a baseline, switchable).
7. **A capacity never forgotten.** The video receiver's bandwidth estimate (REMB) keeps
   the link capacity it saw at the last overuse for good, so after a bandwidth cap lifts
   it climbs back additively, for tens of seconds. Its rate control is replaced by
   ``RateControl``, whose memory of the capacity expires.
8. **Narrow links.** aiortc's VP8 and H.264 encoders never aim below 250 kbit/s, whatever
   the receiver's estimate (REMB) says, and its VP8 keyframes may take a second of bitrate
   in one burst: on a 300 kbit/s link video and audio overflow it, and no keyframe gets
   through. Here each video sender follows a REMB down to ``MIN_VIDEO_BITRATE`` (and a
   ``set_max_bitrate`` cap below that too), backs off on loss as GCC does
   (``LossBasedLimit``: a full queue delays alike, so the delay-based REMB holds), keeps
   retransmissions within a budget (``RetransmissionBudget``), and encodes VP8 with
   keyframes capped (``vp8_encoder``).
9. **Socket buffers.** aioice's UDP sockets keep the kernel's default receive buffer
   (208 KiB on Linux). Behind an SFU one engine receives several senders, and their
   keyframes arrive in one burst: while the engine is busy for a moment, the kernel drops
   what does not fit, each broken keyframe asks for another (PLI), and video freezes. Here
   each ICE socket asks for ``RECEIVE_BUFFER_BYTES``, 1 MiB (Linux caps it at
   ``net.core.rmem_max``).
10. **Round-trip time.** ``RTCRtpSender`` reports ``roundTripTime`` as a moving average
    (0.85 old, 0.15 new), so one RTCP report that a busy engine handled late skews it for
    ten seconds or more. W3C's is the latest measurement. Here each sender's reports are
    measured (``RoundTripTime``), and ``getStats()`` reports the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fractions
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aioice import Candidate
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription, RTCStatsReport
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport, SRTPProtectionProfile, certificate_digest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    is_rtcp,
    unpack_remb_fci,
)
from aiortc.sdp import SessionDescription
from av import AudioFrame
from OpenSSL import SSL

from .ice_checks import CheckKind, IceCheck, IceCheckLog
from .network_conditions import Direction, Impairment, NetworkConditions
from .packet_capture import PacketCapture
from .rate_control import LossBasedLimit, RateControl, RetransmissionBudget
from .receive_path import Path, ReceivePath, ReceiverPorts, ReceiveStats
from .round_trip_time import RoundTripTime
from .vp8_encoder import Vp8Encoder

logger = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 1024 * 1024
"""What each ICE socket asks for (fault 9). 4 MiB slowed the REMB's recovery after a cap: a busy
loop's backlog then waits in the kernel, and reads as queuing delay."""

CIPHER_SUITES = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:"
    b"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    b"ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"
)
"""aiortc's ECDHE-ECDSA suites, then the ECDHE-RSA ones (for peers with RSA certificates)."""

_MEDIA_FLOWS = ("sendrecv", "recvonly")
MAX_DESCRIPTIONS = 200
"""Session descriptions kept per connection (100 renegotiations): a peer that renegotiates forever fills no memory."""
MAX_TIMELINE = 2_000
"""State changes kept per connection."""
_STATE_EVENTS = (
    ("signalingstatechange", "signaling", "signalingState"),
    ("icegatheringstatechange", "ice-gathering", "iceGatheringState"),
    ("iceconnectionstatechange", "ice", "iceConnectionState"),
    ("connectionstatechange", "connection", "connectionState"),
)
"""(W3C event, the timeline's name for it, the attribute whose new value it notes)."""


@dataclass(frozen=True, slots=True)
class Description:
    """One session description applied (W3C ``RTCSessionDescription``), with when and on which side."""

    time: float
    side: Literal["local", "remote"]
    type: str
    sdp: str


MIN_VIDEO_BITRATE = 60_000
"""The lowest video target a REMB can set, in bit/s (fault 8; aiortc's own floor is 250 kbit/s)."""
KEYFRAME_REQUEST_DELAYS = (0.0, 0.3, 1.0)
"""When, after media may flow again, each video receiver asks for a keyframe (seconds apart)."""


class _Certificate(RTCCertificate):
    """aiortc's certificate (ECDSA P-256), whose DTLS context also accepts RSA peers (fault 1)."""

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context: SSL.Context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(CIPHER_SUITES)
        return context


class PeerConnection(RTCPeerConnection):
    """An ``RTCPeerConnection`` with labkit's interop fixes; see the module's docstring."""

    def __init__(self, configuration: RTCConfiguration | None = None) -> None:
        super().__init__(configuration)
        self.configuration = configuration or RTCConfiguration()
        """The ICE servers and policies this connection was made with (W3C ``getConfiguration()``)."""
        # fault 1: replace the certificate before any transport is made with it
        self._RTCPeerConnection__certificates = [_Certificate.generateCertificate()]
        self._negotiated: dict[str, tuple[list[Any], list[Any]]] = {}  # mid -> (codecs, extensions)
        self._started: dict[str, list[RTCRtpCodecParameters]] = {}  # mid -> what aiortc started with
        self._flowing: dict[str, bool] = {}  # mid -> media flowed after the last negotiation
        self._payload_map = _PayloadTypeMap()
        self._transports: set[int] = set()
        self._receivers: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.keyframe_requests = 0
        """PLIs sent because a negotiation let video flow again (fault 5)."""
        self.capture = PacketCapture()
        """This connection's RTP and RTCP in the clear, while it is on (labkit; see ``packet_capture``)."""
        self.impairments: dict[Direction, Impairment] = {"send": Impairment(), "receive": Impairment()}
        """What the network does to each direction (labkit's network lab); perfect until conditions are set."""
        self._impaired: set[int] = set()
        self._impairing = False  # conditions were set once: the transports are (or will be) wrapped
        self._max_bitrates: dict[str, int | None] = {"audio": None, "video": None}
        self._capped: set[int] = set()
        self._round_trips: dict[int, RoundTripTime] = {}  # id(sender) -> its measurements (fault 10)
        self.receive_paths: dict[str, ReceivePath] = {}
        """Each receiver's jitter buffers, by mid (fault 6): labkit's unless switched to aiortc's."""
        self._receive_path: Path = "labkit"
        self._jitter_buffer_targets: dict[str, float | None] = {"audio": None, "video": None}
        self.ice_checks = IceCheckLog()
        """Every ICE connectivity check and consent refresh, timed (labkit; aioice keeps none)."""
        self._watched: set[int] = set()
        self.descriptions: deque[Description] = deque(maxlen=MAX_DESCRIPTIONS)
        """Every session description applied, local and remote, in order: each negotiation's offer and answer."""
        self.timeline: deque[tuple[float, str, str]] = deque(maxlen=MAX_TIMELINE)
        """(time.monotonic(), what, state): each W3C state change of this connection and its transports."""
        for event, what, state in _STATE_EVENTS:
            self.on(event, self._noter(what, state))

    # --- fault 10: W3C's round-trip time ---------------------------------------------------

    async def getStats(self) -> RTCStatsReport:
        """W3C ``getStats()``: aiortc's, with each sender's ``roundTripTime`` its latest measurement."""
        senders = self.getSenders()
        reports = await asyncio.gather(*(s.getStats() for s in senders), *(r.getStats() for r in self.getReceivers()))
        for sender, report in zip(senders, reports[: len(senders)], strict=True):
            round_trip = self._round_trips.get(id(sender))
            if round_trip is None or round_trip.latest is None:
                continue
            for stats in report.values():
                if stats.type == "remote-inbound-rtp":
                    stats.roundTripTime = round_trip.latest
        merged = RTCStatsReport()
        for report in reports:
            merged.update(report)
        return merged

    def _measure_round_trips(self, sender: Any) -> None:
        """Measure each RTCP report block about ``sender`` (once per sender)."""
        if id(sender) in self._round_trips:
            return
        round_trip = self._round_trips[id(sender)] = RoundTripTime()
        inner: Callable[[Any], Awaitable[None]] = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                now = time.time()  # aiortc stamps each SR it sends with time.time()
                sent_lsr, sent_at = sender._RTCRtpSender__lsr, sender._RTCRtpSender__lsr_time
                for block in packet.reports:
                    if block.ssrc == sender._ssrc:
                        round_trip.on_report_block(block.lsr, block.dlsr, sent_lsr, sent_at, now)
            await inner(packet)

        sender._handle_rtcp_packet = handle

    # --- fault 2: re-offers keep the negotiated numbers -----------------------------------

    async def createOffer(self) -> RTCSessionDescription:
        offer: RTCSessionDescription = await super().createOffer()
        if not self._negotiated:
            return offer
        description = SessionDescription.parse(offer.sdp)
        for media in description.media:
            kept = self._negotiated.get(str(media.rtp.muxId))
            if kept is None or media.kind not in ("audio", "video"):
                continue
            codecs, extensions = kept
            media.rtp.codecs = copy.deepcopy(codecs)
            media.rtp.headerExtensions = copy.deepcopy(extensions)
            media.fmt = [codec.payloadType for codec in media.rtp.codecs]
            transceiver = self._transceiver(media.rtp.muxId)
            if transceiver is not None:
                transceiver._codecs = copy.deepcopy(codecs)
                transceiver._headerExtensions = copy.deepcopy(extensions)
        return RTCSessionDescription(sdp=str(description), type="offer")

    # --- after each negotiation -----------------------------------------------------------

    async def setLocalDescription(self, sessionDescription: RTCSessionDescription | None = None) -> None:
        await super().setLocalDescription(sessionDescription)
        local = self.localDescription
        if local is not None:
            self.descriptions.append(Description(time.monotonic(), "local", local.type, local.sdp))
        self._watch_ice_checks()  # aiortc gathers in setLocalDescription: every local candidate exists now
        if self._impairing:
            self._impair_transports()
        if local is not None and local.type == "answer":
            await self._negotiated_now()

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
        self.descriptions.append(
            Description(time.monotonic(), "remote", sessionDescription.type, sessionDescription.sdp)
        )
        if sessionDescription.type == "answer":
            await self._negotiated_now()

    async def _negotiated_now(self) -> None:
        """A negotiation completed: remember its numbers, map payload types, restart video."""
        for transceiver in self.getTransceivers():
            mid = transceiver.mid
            if mid is None or transceiver.kind not in ("audio", "video"):
                continue
            self._negotiated[mid] = (copy.deepcopy(transceiver._codecs), copy.deepcopy(transceiver._headerExtensions))
            started = self._started.setdefault(mid, copy.deepcopy(transceiver._codecs))
            self._payload_map.update(started, transceiver._codecs)
            self._guard(transceiver)
            flowing = transceiver.currentDirection in _MEDIA_FLOWS
            if flowing and self._flowing.get(mid) is False and transceiver.kind == "video":
                await self._restart_video(transceiver)
            self._flowing[mid] = flowing

    # --- what the layers above read ----------------------------------------------------

    def negotiated_codecs(self) -> dict[str, tuple[RTCRtpCodecParameters, ...]]:
        """The codecs the last negotiation chose, by kind ("audio", "video"), first preferred."""
        chosen: dict[str, tuple[RTCRtpCodecParameters, ...]] = {}
        for transceiver in self.getTransceivers():
            kept = self._negotiated.get(str(transceiver.mid))
            if kept is not None:
                chosen[transceiver.kind] = tuple(copy.deepcopy(kept[0]))
        return chosen

    def negotiated_header_extensions(self) -> dict[str, tuple[RTCRtpHeaderExtensionParameters, ...]]:
        """The RTP header extensions (``a=extmap``: id and URI) the last negotiation chose, by kind."""
        chosen: dict[str, tuple[RTCRtpHeaderExtensionParameters, ...]] = {}
        for transceiver in self.getTransceivers():
            kept = self._negotiated.get(str(transceiver.mid))
            if kept is not None:
                chosen[transceiver.kind] = tuple(copy.deepcopy(kept[1]))
        return chosen

    def target_bitrate(self, kind: str) -> float | None:
        """The ``kind`` encoder's target in bit/s (aiortc's REMB-driven estimate); ``None`` before its first frame."""
        for transceiver in self.getTransceivers():
            if transceiver.kind == kind:
                encoder = getattr(transceiver.sender, "_RTCRtpSender__encoder", None)  # aiortc keeps it private
                target = getattr(encoder, "target_bitrate", None)
                return float(target) if target is not None else None
        return None

    def selected_candidate_pair(self) -> tuple[Candidate, Candidate] | None:
        """The (local, remote) ICE candidates media flows over (W3C ``getSelectedCandidatePair()``), or ``None``."""
        for transceiver in self.getTransceivers():
            connection = transceiver.receiver.transport.transport._connection  # aiortc keeps aioice's private
            for pair in getattr(connection, "_nominated", {}).values():  # aioice has no public view
                return pair.local_candidate, pair.remote_candidate
        return None

    def dtls(self) -> DtlsDescription | None:
        """The DTLS transport's role, protocol, cipher, SRTP profile and certificates, once it has started."""
        for transceiver in self.getTransceivers():
            transport: Any = transceiver.receiver.transport
            ssl = getattr(transport, "_ssl", None)  # aiortc keeps the OpenSSL connection private
            local = transport.getLocalParameters().fingerprints
            peer = ssl.get_peer_certificate(as_cryptography=True) if ssl is not None else None
            profile = ssl.get_selected_srtp_profile() if ssl is not None else b""
            return DtlsDescription(
                role=str(transport._role),
                state=str(transport.state),
                protocol=(ssl.get_protocol_version_name() if ssl is not None else "") or "",
                cipher=(ssl.get_cipher_name() if ssl is not None else "") or "",
                srtp_profile=profile.decode() if profile else "",
                local_fingerprint=f"{local[0].algorithm} {local[0].value}" if local else "",
                peer_fingerprint=f"sha-256 {certificate_digest(peer, 'sha-256')}" if peer is not None else "",
            )
        return None

    def set_conditions(self, direction: Direction, conditions: NetworkConditions) -> None:
        """What the network does to ``direction`` from now on (engine thread); see ``network_conditions``.

        Until conditions are first set, nothing is wrapped and datagrams pass as aiortc sends them.
        """
        self.impairments[direction].conditions = conditions
        if not conditions.is_perfect:
            self._impairing = True
            self._impair_transports()

    # --- the send bitrate cap (ACS OutgoingVideoConstraints) -------------------------------

    def set_max_bitrate(self, kind: str, bitrate: int | None) -> None:
        """Cap the ``kind`` encoder's target at ``bitrate`` bit/s (``None``: aiortc's REMB decides alone)."""
        self._max_bitrates[kind] = bitrate
        for transceiver in self.getTransceivers():
            if transceiver.kind == kind:
                self._tune_sender(transceiver)
                self._apply_cap(transceiver.sender, kind)

    def _tune_sender(self, transceiver: RTCRtpTransceiver) -> None:
        """After each RTCP packet the sender handles: follow a REMB below aiortc's floor (fault 8), re-apply the cap."""
        sender: Any = transceiver.sender
        if id(sender) in self._capped:
            return
        self._capped.add(id(sender))
        codecs = transceiver._codecs
        if sender._RTCRtpSender__encoder is None and codecs and codecs[0].mimeType.lower() == "video/vp8":
            sender._RTCRtpSender__encoder = Vp8Encoder()  # aiortc makes its own at the first frame if none
        kind = transceiver.kind
        inner: Callable[[Any], Awaitable[None]] = sender._handle_rtcp_packet

        losses = LossBasedLimit()
        budget = RetransmissionBudget()
        retransmit: Callable[[int], Awaitable[None]] = sender._retransmit

        async def limited_retransmit(sequence_number: int) -> None:
            encoder = sender._RTCRtpSender__encoder
            target = float(getattr(encoder, "target_bitrate", 500_000))
            if budget.allow(target, time.monotonic()):
                await retransmit(sequence_number)

        sender._retransmit = limited_retransmit

        async def handle(packet: Any) -> None:
            await inner(packet)
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                with contextlib.suppress(ValueError):
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                    if sender._ssrc in ssrcs:
                        self._lower_target(sender, max(MIN_VIDEO_BITRATE, bitrate))
            elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                encoder = sender._RTCRtpSender__encoder
                for report in packet.reports:
                    if report.ssrc == sender._ssrc and encoder is not None and hasattr(encoder, "target_bitrate"):
                        losses.on_report(report.fraction_lost / 256, encoder.target_bitrate, time.monotonic())
            if losses.limit is not None:
                self._lower_target(sender, max(MIN_VIDEO_BITRATE, losses.limit))
            self._apply_cap(sender, kind)

        sender._handle_rtcp_packet = handle

    def _apply_cap(self, sender: Any, kind: str) -> None:
        cap = self._max_bitrates.get(kind)
        if cap is not None:
            self._lower_target(sender, cap)

    @staticmethod
    def _lower_target(sender: Any, bitrate: int) -> None:
        """Bring the encoder's target down to ``bitrate``, below aiortc's own floor if need be."""
        encoder = getattr(sender, "_RTCRtpSender__encoder", None)  # made at the first frame
        if encoder is None or not hasattr(encoder, "target_bitrate") or encoder.target_bitrate <= bitrate:
            return
        encoder.target_bitrate = bitrate
        if encoder.target_bitrate > bitrate:  # aiortc clamps to its minimum (250 kbit/s for VP8): go below it
            setattr(encoder, f"_{type(encoder).__name__}__target_bitrate", bitrate)

    # --- fault 6: labkit's receive path ----------------------------------------------------

    @property
    def receive_path(self) -> Path:
        """Whose jitter buffers this connection's receivers use: ``"labkit"`` (default) or ``"aiortc"``."""
        return self._receive_path

    def set_receive_path(self, path: Path) -> None:
        """Switch every receiver of this connection to ``path``, now and for those to come."""
        for receive_path in self.receive_paths.values():
            receive_path.path = path
        self._receive_path = path

    def set_jitter_buffer_target(self, kind: str, target_ms: float | None) -> None:
        """W3C ``RTCRtpReceiver.jitterBufferTarget`` for every ``kind`` receiver, in ms; ``None``: the default."""
        for receive_path in self.receive_paths.values():
            if receive_path.kind == kind:
                receive_path.target_ms = target_ms
        self._jitter_buffer_targets[kind] = target_ms

    def receive_stats(self) -> dict[str, ReceiveStats]:
        """Each receiver's jitter-buffer counters, NACKs and PLIs, by kind."""
        return {path.kind: path.stats() for path in self.receive_paths.values()}

    def _install_receive_path(self, transceiver: RTCRtpTransceiver) -> None:
        receiver: Any = transceiver.receiver
        loop = asyncio.get_running_loop()
        codecs: dict[int, RTCRtpCodecParameters] = receiver._RTCRtpReceiver__codecs  # filled by receive()
        decoder_queue = receiver._RTCRtpReceiver__decoder_queue
        mapper = receiver._RTCRtpReceiver__timestamp_mapper

        def running() -> bool:
            track = receiver._track
            decoding = receiver._RTCRtpReceiver__decoder_thread is not None
            return decoding and track is not None and track.readyState == "live"

        def decode(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            if running():
                frame.timestamp = mapper.map(frame.timestamp)
                decoder_queue.put((codec, frame))

        def play(pcm: bytes, pts: int) -> None:
            if not running():
                return
            frame = AudioFrame(format="s16", layout="stereo", samples=len(pcm) // 4)
            frame.planes[0].update(pcm)
            frame.sample_rate = 48_000
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, 48_000)
            receiver._track._queue.put_nowait(frame)

        def request_keyframe(ssrc: int) -> None:
            if running():
                self._spawn(receiver._send_rtcp_pli(ssrc))

        def nack(ssrc: int, lost: list[int]) -> None:
            if running():
                self._spawn(receiver._send_rtcp_nack(ssrc, lost))

        def rtt() -> float | None:
            measured = [
                float(value)
                for t in self.getTransceivers()
                if (value := getattr(t.sender, "_RTCRtpSender__rtt", None)) is not None  # aiortc keeps it private
            ]
            return max(measured) if measured else None

        def own_nacks(on: bool) -> None:
            if transceiver.kind == "video":  # aiortc's receiver NACKs video only
                receiver._RTCRtpReceiver__nack_generator = None if on else NackGenerator()

        ports = ReceiverPorts(codecs.get, decode, play, request_keyframe, nack, rtt, own_nacks)
        path = ReceivePath(transceiver.kind, ports, loop, self._receive_path)
        path.target_ms = self._jitter_buffer_targets.get(transceiver.kind)
        receiver._RTCRtpReceiver__jitter_buffer = path
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # video receivers only
        if estimator is not None:
            estimator.rate_control = RateControl()  # fault 7
        send_rtcp: Callable[[Any], Awaitable[None]] = receiver._send_rtcp

        async def counted_send_rtcp(packet: Any) -> None:
            path.note_rtcp(packet)
            await send_rtcp(packet)

        receiver._send_rtcp = counted_send_rtcp
        self.receive_paths[str(transceiver.mid)] = path

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _impair_transports(self) -> None:
        """Carry out ``impairments`` on every ICE transport of this connection (once each)."""
        for transceiver in self.getTransceivers():
            ice = transceiver.receiver.transport.transport
            if id(ice) not in self._impaired:
                self._impaired.add(id(ice))
                self._tasks.add(_impair(ice, self.impairments, self._tasks))

    def _watch_ice_checks(self) -> None:
        """Log each STUN binding request of this connection's ICE agents (aioice logs none)."""
        for transceiver in self.getTransceivers():
            connection = transceiver.receiver.transport.transport._connection  # aiortc keeps aioice's private
            for protocol in getattr(connection, "_protocols", ()):  # aioice: one per local candidate
                if id(protocol) not in self._watched:
                    self._watched.add(id(protocol))
                    _log_checks(protocol, self.ice_checks)
                    _enlarge_receive_buffer(protocol)  # fault 9

    def _noter(self, what: str, state: str) -> Callable[[], None]:
        return lambda: self._note(what, str(getattr(self, state)))

    def _note(self, what: str, state: str) -> None:
        self.timeline.append((time.monotonic(), what, state))

    def _transceiver(self, mid: object) -> RTCRtpTransceiver | None:
        return next((t for t in self.getTransceivers() if t.mid == mid), None)

    # --- fault 3: payload types mapped at the DTLS transport ------------------------------

    def _guard(self, transceiver: RTCRtpTransceiver) -> None:
        transport: RTCDtlsTransport = transceiver.receiver.transport
        if id(transport) not in self._transports:
            self._transports.add(id(transport))
            self._payload_map.attach(transport, self.capture)
            self._note("dtls", transport.state)
            transport.on("statechange", lambda: self._note("dtls", transport.state))
        receiver = transceiver.receiver
        if id(receiver) not in self._receivers:
            self._receivers.add(id(receiver))
            _ignore_bye(receiver)
            self._install_receive_path(transceiver)
        self._measure_round_trips(transceiver.sender)
        if transceiver.kind == "video":
            self._tune_sender(transceiver)

    # --- fault 5: a fresh jitter buffer and a keyframe after a resume ----------------------

    async def _restart_video(self, transceiver: RTCRtpTransceiver) -> None:
        receiver: Any = transceiver.receiver
        path = self.receive_paths.get(str(transceiver.mid))
        if path is not None:
            path.reset()
        self._spawn(self._request_keyframes(receiver))
        logger.debug("video %s flows again: fresh jitter buffer, keyframe requested", transceiver.mid)

    async def _request_keyframes(self, receiver: Any) -> None:
        """PLIs now and twice more: the peer may start sending a moment after the answer."""
        router = receiver.transport._rtp_router
        for delay in KEYFRAME_REQUEST_DELAYS:
            await asyncio.sleep(delay)
            sources = {ssrc for ssrc, r in router.ssrc_table.items() if r is receiver}
            sources |= {s.source for s in receiver.getSynchronizationSources()}
            for ssrc in sources:
                self.keyframe_requests += 1
                await receiver._send_rtcp_pli(ssrc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for path in self.receive_paths.values():
            path.close()
        await super().close()


@dataclass(frozen=True, slots=True)
class DtlsDescription:
    """What a DTLS handshake settled (W3C ``RTCDtlsTransport``, and what it does not expose)."""

    role: str
    """``client`` or ``server`` (from ``a=setup``: the answerer's choice, RFC 5763)."""
    state: str
    protocol: str
    """The DTLS version, such as ``DTLSv1.2``."""
    cipher: str
    srtp_profile: str
    """The SRTP protection profile DTLS-SRTP chose (RFC 5764), such as ``SRTP_AEAD_AES_128_GCM``."""
    local_fingerprint: str
    peer_fingerprint: str
    """The SHA-256 of the certificate the peer presented: it must equal its SDP's ``a=fingerprint``."""


def _enlarge_receive_buffer(protocol: Any) -> None:
    """Fault 9: room for a burst of keyframes in this ICE socket's receive buffer."""
    transport = getattr(protocol, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


def _log_checks(protocol: Any, log: IceCheckLog) -> None:
    """Time each request of one aioice ``StunProtocol``: a check, a nomination or a consent refresh."""
    inner: Callable[..., Awaitable[Any]] = protocol.request
    candidate = getattr(protocol, "local_candidate", None)
    local = (str(candidate.host), int(candidate.port)) if candidate is not None else ("", 0)

    async def request(
        message: Any, addr: tuple[str, int], integrity_key: bytes | None = None, retransmissions: int | None = None
    ) -> Any:
        if retransmissions == 0:
            kind: CheckKind = "consent"  # aioice refreshes consent without retransmitting
        else:
            kind = "nomination" if "USE-CANDIDATE" in message.attributes else "check"
        check = log.begin(IceCheck(time.monotonic(), local, (str(addr[0]), int(addr[1])), kind))
        try:
            response = await inner(message, addr, integrity_key=integrity_key, retransmissions=retransmissions)
        except Exception as error:
            check.end, check.result, check.error = time.monotonic(), "failure", str(error) or type(error).__name__
            raise
        check.end, check.result = time.monotonic(), "success"
        return response

    protocol.request = request


def _impair(ice: Any, impairments: dict[Direction, Impairment], tasks: set[asyncio.Task[None]]) -> asyncio.Task[None]:
    """Wrap one ``RTCIceTransport``'s datagram ``_send`` and ``_recv`` (aiortc's, set per instance).

    Received datagrams are pumped through a queue so that they can be held back; the pump
    is the returned task. While both directions are perfect, every datagram passes at once.
    """
    send: Callable[[bytes], Awaitable[None]] = ice._send
    recv: Callable[[], Awaitable[bytes]] = ice._recv
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[bytes | Exception] = asyncio.Queue()
    outgoing, incoming = impairments["send"], impairments["receive"]

    async def send_later(data: bytes) -> None:
        with contextlib.suppress(ConnectionError):  # the connection closed while the datagram was delayed
            await send(data)

    def launch(data: bytes) -> None:
        task = loop.create_task(send_later(data))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def impaired_send(data: bytes) -> None:
        if outgoing.is_perfect:
            await send(data)
            return
        for delay in outgoing.schedule(len(data), loop.time()):
            if delay <= 0:
                await send(data)
            else:
                loop.call_later(delay, launch, data)

    async def pump() -> None:
        while True:
            try:
                data = await recv()
            except Exception as error:  # closed: the reader gets the same error
                arrived.put_nowait(error)
                return
            if incoming.is_perfect:
                arrived.put_nowait(data)
                continue
            for delay in incoming.schedule(len(data), loop.time()):
                if delay <= 0:
                    arrived.put_nowait(data)
                else:
                    loop.call_later(delay, arrived.put_nowait, data)

    async def impaired_recv() -> bytes:
        item = await arrived.get()
        if isinstance(item, Exception):
            arrived.put_nowait(item)  # every later read fails the same way
            raise item
        return item

    ice._send = impaired_send
    ice._recv = impaired_recv
    return loop.create_task(pump(), name="labkit-network-lab")


def _ignore_bye(receiver: Any) -> None:
    """Fault 4: drop RTCP BYE before aiortc's receiver stops its decoder for good."""
    inner: Callable[[Any], Awaitable[None]] = receiver._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if not isinstance(packet, RtcpByePacket):
            await inner(packet)

    receiver._handle_rtcp_packet = handle


class _PayloadTypeMap:
    """Payload types as aiortc started with them <-> as negotiated last (fault 3)."""

    def __init__(self) -> None:
        self.outgoing: dict[int, int] = {}  # aiortc's number -> the wire's
        self.incoming: dict[int, int] = {}  # the wire's number -> aiortc's

    def update(self, started: list[RTCRtpCodecParameters], current: list[RTCRtpCodecParameters]) -> None:
        for old in started:
            new = next((c for c in current if _same_codec(old, c, started, current)), None)
            old_type = int(old.payloadType or 0)
            new_type = int(new.payloadType or 0) if new is not None else old_type
            if new_type == old_type:
                self.outgoing.pop(old_type, None)
                self.incoming.pop(new_type, None)
                continue
            self.outgoing[old_type] = new_type
            self.incoming[new_type] = old_type

    def attach(self, transport: Any, capture: PacketCapture) -> None:
        """Map payload types on ``transport``, and hand ``capture`` each clear packet as the wire has it."""
        send: Callable[[bytes], Awaitable[None]] = transport._send_rtp
        handle: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data
        handle_rtcp: Callable[[bytes], Awaitable[None]] = transport._handle_rtcp_data

        async def send_rtp(data: bytes) -> None:
            if self.outgoing and not is_rtcp(data):
                data = self._rewrite(data, self.outgoing)
            if capture.is_on:
                capture.record("sent", data)
            await send(data)

        async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
            if capture.is_on:
                capture.record("received", data)
            await handle(self._rewrite(data, self.incoming) if self.incoming else data, arrival_time_ms)

        async def handle_rtcp_data(data: bytes) -> None:
            if capture.is_on:
                capture.record("received", data)
            await handle_rtcp(data)

        transport._send_rtp = send_rtp
        transport._handle_rtp_data = handle_rtp_data
        transport._handle_rtcp_data = handle_rtcp_data

    @staticmethod
    def _rewrite(data: bytes, table: dict[int, int]) -> bytes:
        if len(data) < 2:
            return data
        payload_type = data[1] & 0x7F
        mapped = table.get(payload_type)
        if mapped is None:
            return data
        return data[:1] + bytes([(data[1] & 0x80) | mapped]) + data[2:]


def _same_codec(
    a: RTCRtpCodecParameters,
    b: RTCRtpCodecParameters,
    a_all: list[RTCRtpCodecParameters],
    b_all: list[RTCRtpCodecParameters],
) -> bool:
    if a.mimeType.lower() != b.mimeType.lower() or a.clockRate != b.clockRate:
        return False
    if not is_rtx(a):
        return True
    # an rtx codec is the same if it repairs the same codec
    base_a = next((c for c in a_all if c.payloadType == a.parameters.get("apt")), None)
    base_b = next((c for c in b_all if c.payloadType == b.parameters.get("apt")), None)
    return base_a is not None and base_b is not None and _same_codec(base_a, base_b, a_all, b_all)


__all__ = ["CIPHER_SUITES", "Description", "DtlsDescription", "PeerConnection"]
