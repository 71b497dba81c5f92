"""The browser bridge: one RTCPeerConnection between the kernel's engine and a notebook page.

The page (the ``BrowserMedia`` widget's front end) is a media peer of the kernel:

- **sources**, page to kernel: a page camera or microphone, opened with ``getUserMedia``
  on its ``deviceId``, arrives here as a track that any call can send;
- **outputs**, kernel to page: a video (a remote participant's, a preview) that the page
  shows in a native ``<video>``, keyed by a name;
- **the speaker**, kernel to page: the mix of what the calls receive, played by the page
  on the speaker picked (``setSinkId``).

The kernel always makes the offers and the page answers, so offers never cross. Messages
are JSON objects sent by ``send`` (the widget's comm) and handed to ``receive``; their
types are ``PageMessage``. Everything here runs on the engine thread except ``receive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription

from ..errors import ErrorCode, LabkitError
from .connection_link import ConnectionLink
from .encoder_input import EncoderInputTrack
from .engine import MediaEngine
from .feed_track import VideoFeedTrack
from .ice import rtc_configuration
from .page_devices import PageDevice, PageSourceTrack, PageSpeaker
from .peer_connection import PeerConnection
from .peer_link import PeerLink

logger = logging.getLogger(__name__)

NEGOTIATION_TIMEOUT = 10.0
PERMISSION_TIMEOUT = 120.0
"""How long ``ask_permission`` waits for the person to answer the browser's prompt."""


class PageMessage(StrEnum):
    """Message types between the kernel and the page (``type`` of each JSON object)."""

    HELLO = "hello"  # page: a front end is here (again), with its page id: start over (once per id)
    DEVICES = "devices"  # page: its enumerateDevices()
    ANSWER = "answer"  # page: the SDP answer
    PERMISSION = "permission"  # page: what getUserMedia was granted
    SOURCE_FAILED = "source-failed"  # page: a device could not be opened
    WELCOME = "welcome"  # kernel: the hello of this page id arrived (the page stops repeating it)
    OFFER = "offer"  # kernel: the SDP offer, with what each m-line carries
    ASK_PERMISSION = "ask-permission"  # kernel: prompt for devices
    ROUTE_SPEAKER = "route-speaker"  # kernel: play the speaker track on this deviceId


class PageEvent(StrEnum):
    """What ``PageLink.listeners`` are told."""

    ATTACHED = "attached"
    DEVICES = "devices"
    PERMISSION = "permission"


@dataclass(eq=False)
class _Source:
    kind: str
    device_id: str
    track: PageSourceTrack | None
    transceiver: RTCRtpTransceiver | None = None


@dataclass(eq=False)
class _Output:
    key: str | None
    source: MediaStreamTrack | None
    feed: VideoFeedTrack = field(default_factory=VideoFeedTrack)
    transceiver: RTCRtpTransceiver | None = None


class PageLink:
    """The kernel's side of the browser bridge to one notebook page."""

    def __init__(self, engine: MediaEngine, send: Callable[[dict[str, Any]], None]) -> None:
        self.engine = engine
        self._send = send
        self.attached = False
        """True once a page has said hello (a front end rendered the widget's model)."""
        self.secure_context = False
        """The page is a secure context (https:// or localhost), where browsers offer devices."""
        self.devices: tuple[PageDevice, ...] = ()
        self.permission: dict[str, bool | None] = {"audio": None, "video": None}
        """What the page's getUserMedia was granted, per kind (``None``: not asked yet)."""
        self.speaker = PageSpeaker()
        self.listeners: list[Callable[[PageEvent], None]] = []
        self._pc: PeerConnection | None = None
        self._sources: list[_Source] = []
        self._outputs: list[_Output] = []
        self._speaker_transceiver: RTCRtpTransceiver | None = None
        self._answer: asyncio.Future[str] | None = None
        self._dirty = False
        self._negotiating: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()  # the current connection is up (or has failed)
        self._permission_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._page_id: str | None = None  # the page whose hello was last handled
        self._closed = False

    @property
    def media_link(self) -> ConnectionLink | None:
        """The connection to the page now, as a ``MediaLink`` (for the inspector); ``None`` before a page."""
        return ConnectionLink("page", self._pc) if self._pc is not None else None

    # --- from the widget (any thread) -----------------------------------------------------

    def receive(self, message: object) -> None:
        """A message from the page; handled on the engine thread."""
        self.engine.submit(self._dispatch(message))

    # --- engine side ----------------------------------------------------------------------

    def open_source(self, kind: str, device_id: str) -> PageSourceTrack:
        """A track of the page device ``device_id`` (``kind`` audio or video)."""
        track = PageSourceTrack(kind, self._source_stopped)
        if not self.attached:
            track.fail("no notebook page is attached to the browser bridge")
            return track
        source = next((s for s in self._sources if s.track is None and s.kind == kind), None)
        if source is None:
            source = _Source(kind, device_id, track)
            self._sources.append(source)
        source.device_id, source.track = device_id, track
        self._renegotiate()
        return track

    def show(self, key: str, source: MediaStreamTrack) -> None:
        """Send ``source`` (video) to the page, where the ``<video>`` named ``key`` shows it."""
        self.hide(key)
        output = next((o for o in self._outputs if o.key is None), None)
        if output is None:
            output = _Output(key, source)
            self._outputs.append(output)
        output.key, output.source = key, source
        output.feed.attach(source)
        self._renegotiate()

    def hide(self, key: str) -> None:
        for output in self._outputs:
            if output.key == key:
                if output.source is not None:
                    output.source.stop()
                output.key, output.source = None, None
                output.feed.attach(None)
                self._renegotiate()

    def route_speaker(self, device_id: str) -> None:
        if self.attached:
            self._send({"type": PageMessage.ROUTE_SPEAKER.value, "deviceId": device_id})

    async def ask_permission(self, audio: bool, video: bool) -> dict[str, bool]:
        """Prompt the page for its devices (ACS ``askDevicePermission``); what was granted."""
        if not self.attached:
            raise LabkitError(ErrorCode.NO_PAGE, "No notebook page is attached to the browser bridge.")
        ref = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self._permission_waiters[ref] = waiter
        self._send({"type": PageMessage.ASK_PERMISSION.value, "ref": ref, "audio": audio, "video": video})
        try:
            reply = await asyncio.wait_for(waiter, PERMISSION_TIMEOUT)
        finally:
            self._permission_waiters.pop(ref, None)
        return {"audio": bool(reply.get("audio")), "video": bool(reply.get("video"))}

    async def close(self) -> None:
        self._closed = True
        if self._negotiating is not None:
            self._negotiating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._negotiating
        for source in self._sources:
            if source.track is not None:
                source.track.fail("the browser bridge closed")
        for output in self._outputs:
            if output.source is not None:
                output.source.stop()
            output.feed.stop()
        self._sources.clear()
        self._outputs.clear()
        self.speaker.track.stop()
        if self._pc is not None:
            await self._pc.close()
            self._pc = None

    # --- messages -------------------------------------------------------------------------

    async def _dispatch(self, message: object) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            logger.warning("browser bridge: ignored a message that is not an object with a type: %.200r", message)
            return
        try:
            kind = PageMessage(message["type"])
        except ValueError:
            logger.warning("browser bridge: ignored an unknown message type %r", message["type"])
            return
        try:
            await self._handle(kind, message)
        except Exception:
            logger.exception("browser bridge: handling %s failed", kind.value)

    async def _handle(self, kind: PageMessage, message: dict[str, Any]) -> None:
        if kind is PageMessage.HELLO:
            # the page repeats its hello until welcomed (a comm message can be lost while a front end
            # starts); a repeat from the page already attached changes nothing
            page_id = str(message.get("page", ""))
            self._send({"type": PageMessage.WELCOME.value, "page": page_id})
            if self.attached and page_id and page_id == self._page_id:
                return
            self._page_id = page_id
            self.secure_context = bool(message.get("secureContext"))
            await self._start_over()
            self.attached = True
            self._notify(PageEvent.ATTACHED)
            self._renegotiate()
        elif kind is PageMessage.DEVICES:
            self.devices = tuple(
                PageDevice(str(d.get("kind", "")), str(d.get("deviceId", "")), str(d.get("label", "")))
                for d in message.get("devices", [])
                if isinstance(d, dict) and d.get("deviceId")
            )
            self._notify(PageEvent.DEVICES)
        elif kind is PageMessage.ANSWER:
            if self._answer is not None and not self._answer.done():
                self._answer.set_result(str(message.get("sdp", "")))
        elif kind is PageMessage.PERMISSION:
            for media in ("audio", "video"):
                if isinstance(message.get(media), bool):  # only the kinds that were asked
                    self.permission[media] = message[media]
            waiter = self._permission_waiters.get(str(message.get("ref")))
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            self._notify(PageEvent.PERMISSION)
        elif kind is PageMessage.SOURCE_FAILED:
            error, name = str(message.get("error", "")), str(message.get("name", ""))
            for source in self._sources:
                if source.transceiver is not None and source.transceiver.mid == message.get("mid"):
                    if name == "NotAllowedError":
                        self.permission[source.kind] = False
                        self._notify(PageEvent.PERMISSION)
                    if source.track is not None:
                        source.track.fail(f"{name}: {error}" if name else error)
                        source.track = None
                    self._renegotiate()

    def _notify(self, event: PageEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("a browser bridge listener failed")

    # --- negotiation ----------------------------------------------------------------------

    async def _start_over(self) -> None:
        """A new page (or a reload): a new connection carrying what the old one carried."""
        if self._pc is not None:
            for source in self._sources:
                if source.track is not None:
                    source.track.unbind()
                source.transceiver = None
            for output in self._outputs:
                output.feed.stop()
                output.feed = VideoFeedTrack()
                output.feed.attach(output.source)
                output.transceiver = None
            self._speaker_transceiver = None
            old, self._pc = self._pc, None
            if self._answer is not None and not self._answer.done():
                self._answer.set_result("")  # the old page will not answer: the negotiation loop moves on
            await old.close()
        self._pc = pc = PeerConnection(rtc_configuration())
        self._settled = settled = asyncio.Event()

        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState in ("connected", "failed", "closed"):
                settled.set()

    def _renegotiate(self) -> None:
        self._dirty = True
        if self.attached and not self._closed and (self._negotiating is None or self._negotiating.done()):
            self._negotiating = asyncio.get_running_loop().create_task(
                self._negotiate(), name="labkit-page-negotiation"
            )

    async def _negotiate(self) -> None:
        while self._dirty and self._pc is not None:
            pc = self._pc
            if pc.remoteDescription is not None:
                # aiortc sets up every transceiver's transport once the first answer's connection is
                # up, and fails on one added meanwhile: later offers wait for it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._settled.wait(), NEGOTIATION_TIMEOUT)
                if pc is not self._pc:
                    continue
            self._dirty = False
            self._arrange(pc)
            await pc.setLocalDescription(await pc.createOffer())
            self._answer = asyncio.get_running_loop().create_future()
            sources = {s.transceiver.mid: s.device_id for s in self._sources if s.track and s.transceiver}
            outputs = {o.transceiver.mid: o.key for o in self._outputs if o.key and o.transceiver}
            speaker = self._speaker_transceiver.mid if self._speaker_transceiver else None
            self._send(
                {
                    "type": PageMessage.OFFER.value,
                    "sdp": pc.localDescription.sdp,
                    "sources": sources,
                    "outputs": outputs,
                    "speaker": speaker,
                }
            )
            try:
                sdp = await asyncio.wait_for(self._answer, NEGOTIATION_TIMEOUT)
            except TimeoutError:
                logger.warning("browser bridge: the page did not answer within %g s", NEGOTIATION_TIMEOUT)
                return
            if pc is not self._pc:
                continue  # the page started over meanwhile
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            for source in self._sources:
                remote = source.transceiver.receiver.track if source.transceiver else None
                if source.track is not None and remote is not None:
                    source.track.bind(remote)

    def _arrange(self, pc: RTCPeerConnection) -> None:
        """Give every source, output and the speaker a transceiver, in the direction it needs now."""
        if self._speaker_transceiver is None:
            self._speaker_transceiver = pc.addTransceiver(self.speaker.track, direction="sendonly")
            PeerLink.prefer_codecs(self._speaker_transceiver)
        for source in self._sources:
            if source.transceiver is None and source.track is not None:
                source.transceiver = pc.addTransceiver(source.kind, direction="recvonly")
                PeerLink.prefer_codecs(source.transceiver)
            if source.transceiver is not None:
                source.transceiver.direction = "recvonly" if source.track is not None else "inactive"
        for output in self._outputs:
            if output.transceiver is None and output.key is not None:
                output.transceiver = pc.addTransceiver(EncoderInputTrack(output.feed), direction="sendonly")
                PeerLink.prefer_codecs(output.transceiver)
            if output.transceiver is not None:
                output.transceiver.direction = "sendonly" if output.key is not None else "inactive"

    def _source_stopped(self, track: PageSourceTrack) -> None:
        for source in self._sources:
            if source.track is track:
                source.track = None
                self._renegotiate()
