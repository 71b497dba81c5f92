"""One RTCPeerConnection to one remote participant: negotiation, hold, remote tracks.

A call is a mesh: one link per remote participant. The link sends the call's audio and
video feeds (always both m-lines, so turning video on later needs no renegotiation) with
VP8 and Opus only, and negotiates over the service's ``signal`` messages.

Offers must not cross, and aiortc cannot roll one back. So toward every peer, only the side
that sent the first offer ever offers: the other asks it to, with ``negotiation-needed``,
and answers. Re-offers then keep the payload types and extension ids that the first
negotiation chose (``PeerConnection``), and a peer that offers anyway (a browser whose offer
crosses ours) is the polite side of W3C perfect negotiation.

Hold is RFC 3264's: the holder offers (or answers) ``sendonly`` and sends nothing; the other
side answers ``recvonly`` and stops sending. A peer that cannot change a transceiver's
direction (GStreamer's webrtcbin before 1.24) refuses the change and keeps ``sendrecv``; the
holder's media stops all the same.

An offer that cannot be answered (no Opus or VP8, no rtcp-mux) is refused with an
``error`` signal (``offer-not-acceptable``, SIP 488), and ``handle`` raises it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription as ParsedDescription
from aiortc.sdp import candidate_from_sdp

from ..errors import ErrorCode, LabkitError
from ..protocol.messages import IceCandidate, NegotiationNeeded, OfferRefused, SessionDescription, SignalPayload
from .connection_link import ConnectionLink
from .encoder_input import EncoderInputTrack
from .liveness import SUSPECT_SECONDS, LinkLiveness
from .peer_connection import PeerConnection
from .rtp_counter import RtpReceiveCounter

logger = logging.getLogger(__name__)

SignalSender = Callable[[SignalPayload], Awaitable[None]]

NEGOTIATION_TIMEOUT = 10.0
"""How long an offer waits for its answer before the next negotiation goes ahead."""
PREFERRED_CODECS = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
VIDEO_CODECS = ("VP8", "H264")
"""The video codecs a labkit agent can send and receive (aiortc's), by ``CallAgent.video_codecs`` name."""
HOLD_DIRECTION = "sendonly"
LinkDirection = Literal["sendrecv", "sendonly", "recvonly"]
"""A holder's transceivers (RFC 3264 section 8.4); it sends nothing meanwhile, so no media flows."""
ACCEPTED_MEDIA = (
    "labkit takes Opus audio and VP8 or H264 video (rtx optional), with rtcp-mux "
    "(docs/protocol.md, 'Media labkit accepts')."
)


class PeerLink(ConnectionLink):
    """The media path to ``remote_id``: one peer connection of a mesh, or to an SFU (a ``MediaLink``).

    ``direction``: ``sendrecv`` (a mesh peer), ``sendonly`` (publishing to an SFU) or
    ``recvonly`` (one participant's media from an SFU: no tracks of ours).
    """

    def __init__(
        self,
        remote_id: str,
        audio: EncoderInputTrack | None,
        video: EncoderInputTrack | None,
        configuration: RTCConfiguration,
        send_signal: SignalSender,
        on_track: Callable[[MediaStreamTrack], None],
        on_state: Callable[[str], None],
        video_codecs: Sequence[str] = ("VP8",),
        direction: LinkDirection = "sendrecv",
    ) -> None:
        super().__init__(remote_id, PeerConnection(configuration))
        self.video_codecs = tuple(video_codecs)
        """The video codecs this side offers, first preferred (W3C ``setCodecPreferences``)."""
        self.direction: LinkDirection = direction
        self._tracks = {kind: track for kind, track in (("audio", audio), ("video", video)) if track is not None}
        if direction == "recvonly" and self._tracks:
            raise ValueError("a receive-only link sends no tracks")
        if video is not None:
            video.target_bitrate = lambda: self.pc.target_bitrate("video")  # the resolution follows it
        self._send_signal = send_signal
        self._lock = asyncio.Lock()
        self._answered = asyncio.Event()  # no negotiation of ours is waiting to complete
        self._answered.set()
        self._has_senders = False
        self._offerer: bool | None = None  # this side sent the first offer (None: no offer yet)
        self._requested: set[asyncio.Task[None]] = set()  # offers the peer asked for
        self.held = False
        self.liveness = LinkLiveness()
        """When the peer was last heard from (RTP or RTCP)."""

        def track_arrived(track: MediaStreamTrack) -> None:
            for transceiver in self.pc.getTransceivers():
                if transceiver.kind == track.kind and track.kind not in self.received:
                    self.received[track.kind] = RtpReceiveCounter(transceiver.receiver, self.liveness.heard)
            on_track(track)

        self.pc.on("track", track_arrived)
        self._on_state = on_state
        self._no_candidates = False  # gathering found no address at all: ICE cannot even start
        self.pc.on("connectionstatechange", self._on_connection_state)

    def _on_connection_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.liveness.watch(self.pc)
            self.liveness.heard()  # the clock starts when media can flow
        self._on_state(self.connection_state)

    def silence(self) -> float:
        """Seconds since anything arrived from the peer; 0.0 unless connected (ICE judges the rest)."""
        return self.liveness.silence() if self.pc.connectionState == "connected" else 0.0

    @property
    def is_stalled(self) -> bool:
        """Connected, but nothing has arrived for ``SUSPECT_SECONDS``: the peer may be frozen or gone."""
        return self.silence() > SUSPECT_SECONDS

    @property
    def encoder_inputs(self) -> Mapping[str, EncoderInputTrack]:
        """What each sender encodes, by kind (the call's encoder inputs)."""
        return MappingProxyType(self._tracks)

    @property
    def connection_state(self) -> str:
        """The peer connection's state; ``failed`` also when there was no candidate to try."""
        return "failed" if self._no_candidates and self.pc.connectionState != "closed" else self.pc.connectionState

    def _check_candidates(self) -> None:
        """aiortc never starts ICE without a local candidate, and never says so: say it fails."""
        if "a=candidate:" not in self.pc.localDescription.sdp and not self._no_candidates:
            logger.warning(
                "no ICE candidate toward %s: no address to offer (a TURN server that refused its credential?)",
                self.remote_id,
            )
            self._no_candidates = True
            self._on_state("failed")

    async def offer(self) -> None:
        """Send an offer: the first one, or a renegotiation (hold, resume).

        One negotiation at a time: a new offer waits for the answer to the previous one.
        Toward an aiortc peer that made the first offer, this asks it to offer instead.
        """
        await self._previous_answer()
        if self._offerer is False:
            self._answered.clear()  # set again once this side has answered the peer's offer
            await self._send_signal(NegotiationNeeded(kind="negotiation-needed"))
            return
        async with self._lock:
            if not self._has_senders:
                for kind in ("audio", "video"):
                    track = self._tracks.get(kind)
                    transceiver = self.pc.addTransceiver(track or kind, direction=self.direction)
                    self.prefer_codecs(transceiver, self.video_codecs)
                self._has_senders = True
                self._offerer = True
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self._check_candidates()
            offer = SessionDescription(kind="offer", sdp=self.pc.localDescription.sdp)
            self._answered.clear()
        await self._send_signal(offer)  # outside the lock: the answer may come straight back

    async def handle(self, payload: SignalPayload) -> None:
        """Apply the peer's offer, answer or ICE candidate, or offer when it asks."""
        answer: SessionDescription | None = None
        if isinstance(payload, NegotiationNeeded):
            # not awaited here: the answer to this offer arrives through this same method
            task = asyncio.ensure_future(self._offer_on_request())
            self._requested.add(task)
            task.add_done_callback(self._requested.discard)
            return
        async with self._lock:
            if isinstance(payload, IceCandidate):
                await self._add_candidate(payload)
            elif payload.kind == "offer" and self.pc.signalingState != "stable":
                # offers crossed (a peer that re-offers on its own); aiortc cannot roll back, so
                # this side is the impolite one of W3C perfect negotiation: a browser rolls back
                # and answers ours. Peers that follow the protocol ask with negotiation-needed.
                logger.info("ignored an offer from %s that crossed ours", self.remote_id)
            elif isinstance(payload, OfferRefused):
                self._answered.set()
                raise LabkitError(ErrorCode.OFFER_NOT_ACCEPTABLE, payload.message, payload.hint)
            elif payload.kind == "offer":
                await self._apply_offer(payload.sdp)
                if not self._has_senders:
                    for transceiver in self.pc.getTransceivers():
                        track = self._tracks.get(transceiver.kind)
                        if track is not None and transceiver.sender.track is None:
                            transceiver.sender.replaceTrack(track)
                            transceiver.direction = self.direction
                            self.prefer_codecs(transceiver, self.video_codecs)
                        elif track is None:
                            transceiver.direction = "recvonly"  # an SFU's offer of one participant's media
                    self._has_senders = True
                    self._offerer = False
                self._apply_hold_direction()
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                self._check_candidates()
                answer = SessionDescription(kind="answer", sdp=self.pc.localDescription.sdp)
                self._answered.set()  # a negotiation this side asked for is complete
            else:
                await self.pc.setRemoteDescription(RTCSessionDescription(payload.sdp, "answer"))
                self._answered.set()
        if answer is not None:
            await self._send_signal(answer)

    async def _apply_offer(self, sdp: str) -> None:
        """``setRemoteDescription(offer)``, or refuse the offer: tell the peer, and raise."""
        problem = unacceptable(sdp)
        if problem is None:
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
                return
            except Exception as error:  # aiortc's own refusal (OperationError, ValueError)
                problem = f"aiortc could not apply it ({error})"
        message = f"The offer from {self.remote_id} cannot be answered: {problem}."
        await self._send_signal(
            OfferRefused(kind="error", code=ErrorCode.OFFER_NOT_ACCEPTABLE.value, message=message, hint=ACCEPTED_MEDIA)
        )
        raise LabkitError(ErrorCode.OFFER_NOT_ACCEPTABLE, message, ACCEPTED_MEDIA)

    async def set_held(self, held: bool) -> None:
        """Hold (no media either way) or resume, by renegotiating every transceiver's direction.

        Returns once the peer has answered, so the media has really stopped (or restarted).
        """
        await self._previous_answer()
        self.held = held
        async with self._lock:
            self._apply_hold_direction()
        await self.offer()
        await self._previous_answer()

    async def _previous_answer(self) -> None:
        try:
            await asyncio.wait_for(self._answered.wait(), NEGOTIATION_TIMEOUT)
        except TimeoutError:
            logger.warning(
                "no answer from %s within %g s; negotiating again anyway", self.remote_id, NEGOTIATION_TIMEOUT
            )
            self._answered.set()

    async def close(self) -> None:
        for task in list(self._requested):
            task.cancel()
        await self.pc.close()

    async def _offer_on_request(self) -> None:
        try:
            await self.offer()
        except Exception:  # the link closed meanwhile, or the peer went away
            logger.exception("the offer %s asked for failed", self.remote_id)

    def _apply_hold_direction(self) -> None:
        if self.direction != "sendrecv":
            return  # an SFU link: holding pauses the feeds, and the SFU stops forwarding
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = HOLD_DIRECTION if self.held else "sendrecv"

    async def _add_candidate(self, payload: IceCandidate) -> None:
        if not payload.candidate:
            return  # end of candidates
        candidate = candidate_from_sdp(payload.candidate.removeprefix("candidate:"))
        candidate.sdpMid = payload.sdp_mid
        candidate.sdpMLineIndex = payload.sdp_m_line_index
        await self.pc.addIceCandidate(candidate)

    @staticmethod
    def prefer_codecs(transceiver: RTCRtpTransceiver, video_codecs: Sequence[str] = ("VP8",)) -> None:
        """W3C ``setCodecPreferences``: Opus; the video codecs in ``video_codecs``' order, with rtx."""
        if transceiver.kind == "video":
            wanted: tuple[str, ...] = (*(f"video/{name}" for name in video_codecs), "video/rtx")
        else:
            wanted = PREFERRED_CODECS[transceiver.kind]
        codecs = [c for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs if c.mimeType in wanted]
        codecs.sort(key=lambda codec: wanted.index(codec.mimeType))  # stable: H.264's profiles keep their order
        transceiver.setCodecPreferences(codecs)


def unacceptable(sdp: str) -> str | None:
    """What in an offer labkit cannot answer, in words; ``None`` if it can be answered."""
    try:
        description = ParsedDescription.parse(sdp)
    except Exception as error:
        return f"its SDP does not parse ({error})"
    wanted = {"audio": ("opus",), "video": tuple(name.lower() for name in VIDEO_CODECS)}
    for media in description.media:
        if media.kind not in wanted or media.port == 0:
            continue
        names = [codec.mimeType.split("/")[-1].lower() for codec in media.rtp.codecs]
        if not set(wanted[media.kind]) & set(names):
            offered = ", ".join(sorted(set(names))) or "none"
            takes = " or ".join(name.upper() for name in wanted[media.kind])
            return f"its {media.kind} m-line offers {offered}, and labkit takes only {takes}"
        if not media.rtcp_mux:
            return f"its {media.kind} m-line has no a=rtcp-mux, which labkit requires"
    return None
