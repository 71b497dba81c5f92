"""``PeerConnection``: aiortc's ``RTCPeerConnection`` (W3C) made to work with every WebRTC stack.

aiortc has five faults that break calls with browsers and GStreamer. Each is worked
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
   with, and the wire carries the ones negotiated last.
4. **RTCP BYE.** ``RTCRtpReceiver`` stops its decoder for good when a BYE arrives, and
   Firefox sends one whenever its sending stops (hold). Here receivers never see a BYE: a
   stream that stops is judged by its silence (``liveness``), and one that resumes plays.
5. **Resume.** After a hold, the video jitter buffer still waits for the sequence number
   before the hold, and asks for no keyframe until a 512-packet gap. Here, once a
   negotiation lets media flow again, each video receiver starts a fresh jitter buffer and
   sends a picture loss indication (PLI), so the peer's next keyframe comes at once.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport, SRTPProtectionProfile
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtcpByePacket, is_rtcp
from aiortc.sdp import SessionDescription
from OpenSSL import SSL

logger = logging.getLogger(__name__)

CIPHER_SUITES = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:"
    b"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    b"ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"
)
"""aiortc's ECDHE-ECDSA suites, then the ECDHE-RSA ones (for peers with RSA certificates)."""

_MEDIA_FLOWS = ("sendrecv", "recvonly")
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
        if self.localDescription is not None and self.localDescription.type == "answer":
            await self._negotiated_now()

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
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

    def _transceiver(self, mid: object) -> RTCRtpTransceiver | None:
        return next((t for t in self.getTransceivers() if t.mid == mid), None)

    # --- fault 3: payload types mapped at the DTLS transport ------------------------------

    def _guard(self, transceiver: RTCRtpTransceiver) -> None:
        transport: RTCDtlsTransport = transceiver.receiver.transport
        if id(transport) not in self._transports:
            self._transports.add(id(transport))
            self._payload_map.attach(transport)
        receiver = transceiver.receiver
        if id(receiver) not in self._receivers:
            self._receivers.add(id(receiver))
            _ignore_bye(receiver)

    # --- fault 5: a fresh jitter buffer and a keyframe after a resume ----------------------

    async def _restart_video(self, transceiver: RTCRtpTransceiver) -> None:
        receiver: Any = transceiver.receiver
        receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=512, is_video=True)
        task = asyncio.ensure_future(self._request_keyframes(receiver))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
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
        await super().close()


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

    def attach(self, transport: Any) -> None:
        send: Callable[[bytes], Awaitable[None]] = transport._send_rtp
        handle: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data

        async def send_rtp(data: bytes) -> None:
            await send(self._rewrite(data, self.outgoing) if self.outgoing and not is_rtcp(data) else data)

        async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
            await handle(self._rewrite(data, self.incoming) if self.incoming else data, arrival_time_ms)

        transport._send_rtp = send_rtp
        transport._handle_rtp_data = handle_rtp_data

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


__all__ = ["CIPHER_SUITES", "PeerConnection"]
