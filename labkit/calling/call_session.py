"""The engine side of a call: its state machine, lifecycle and controls (labkit).

``Call`` is the ACS facade users hold; ``CallSession`` is what runs on the engine thread
behind it. The agent creates sessions and talks to them; the session talks back through
its ``CallHost`` only. Messages from the service are handled in ``call_messages``, the
media in the ``Mesh``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from aiortc import MediaStreamTrack

from ..errors import ErrorCode, LabkitError, TokenError
from ..media.peer_link import LinkDirection, PeerLink
from ..media.video_constraints import OutgoingVideoConstraints, VideoConstraints
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    SFU_ID,
    Accept,
    EndReason,
    HangUp,
    Join,
    MediaRouteKind,
    Message,
    Rejoin,
    Signal,
    SignalPayload,
    StartCall,
    UpdateState,
)
from ..states import CallDirection, CallState, ConnectionState, RemoteParticipantState
from . import call_liveness
from .call import Call
from .call_host import CallHost
from .event_emitter import CollectionUpdated, ValueChanged
from .features import CallFeature, Features
from .local_video_stream import LocalVideoStream
from .mesh import Mesh
from .remote_participant import RemoteParticipant

logger = logging.getLogger(__name__)

MAX_MEDIA_EVENTS = 10_000
"""Media events kept per call (mutes, holds, joins...): a peer toggling forever fills no memory."""
MAX_SIGNALING_RECORDS = 5_000
"""Messages of one call kept for the inspector (offers, answers, candidates, updates)."""
MAX_MESH_PEERS = 8
"""Most remote participants in a mesh call: each is a peer connection of its own (an SFU call has no such cap)."""
HANG_UP_TIMEOUT = 3.0

RINGING_STATES = (CallState.NONE, CallState.CONNECTING, CallState.RINGING, CallState.EARLY_MEDIA)
ESTABLISHED_STATES = (CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD)


@dataclass(frozen=True, slots=True)
class SignalingRecord:
    """One message of a call's signaling: when, which way, and the message itself."""

    time: float
    """``time.monotonic()`` when it was sent or arrived."""
    direction: Literal["sent", "received"]
    message: Message


class CallSession:
    """One call's state and media, on the engine thread; ``call`` is its facade."""

    max_peers = MAX_MESH_PEERS

    def __init__(
        self,
        host: CallHost,
        call_id: str,
        direction: CallDirection,
        *,
        muted: bool,
        video: LocalVideoStream | None,
    ) -> None:
        self.host = host
        self.id = call_id
        self.direction = direction
        self.state = CallState.NONE
        self.end_reason: CallEndReason | None = None
        self.is_muted = muted
        self.participants: dict[str, RemoteParticipant] = {}
        self.is_group = False
        self.joined_group = False
        self.held = False
        self.media_events: deque[tuple[float, str]] = deque(maxlen=MAX_MEDIA_EVENTS)
        self.created_at = time.monotonic()
        self.signaling: deque[SignalingRecord] = deque(maxlen=MAX_SIGNALING_RECORDS)
        """Every message of this call to and from the service, oldest first (bounded)."""
        self.mesh = Mesh(host, video, self.mark)
        self.media: MediaRouteKind = "mesh"
        """How this call's media travels: a link per participant (``mesh``), or through the service's SFU."""
        self.features: dict[Features, CallFeature] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._media_failure: asyncio.Future[None] | None = None
        self._finishing = False
        self.ended = asyncio.Event()
        self.gone: set[str] = set()
        """Peers found frozen or gone (nothing heard for ``DEAD_SECONDS``), being dropped."""
        self.call = Call(self)

    @property
    def is_established(self) -> bool:
        return self.state in ESTABLISHED_STATES

    def mark(self, label: str) -> None:
        """Note a media event (mute, video, hold, join, leave, ...) with its time."""
        self.media_events.append((time.monotonic(), label))

    def set_state(self, state: CallState) -> None:
        if state is not self.state and self.state is not CallState.DISCONNECTED:
            previous, self.state = self.state, state
            logger.debug("call %s: %s -> %s", self.id[:8], previous.value, state.value)
            self.call.emit("state_changed", ValueChanged(state, previous))

    def tell_features(self) -> None:
        """Tell every feature made so far that the participants changed."""
        for feature in list(self.features.values()):
            feature.on_participants_changed()

    # --- lifecycle ------------------------------------------------------------------------

    def _setup_media(self) -> None:
        self.mesh.start(self.is_muted)
        ticking = call_liveness.tick(self)
        self._ticker = asyncio.get_running_loop().create_task(ticking, name=f"labkit-call-ticker {self.id[:8]}")

    async def start_outgoing(self, participants: list[str], *, group_id: str | None) -> None:
        """Ask the service to ring ``participants`` (or to join ``group_id``)."""
        self._setup_media()
        self.set_state(CallState.CONNECTING)
        video = self.mesh.video_stream is not None
        try:
            if self.host.token_expired():
                raise TokenError(ErrorCode.TOKEN_EXPIRED, "The agent's token has expired.", "Create the agent again.")
            if group_id is not None:
                self.joined_group = self.is_group = True
                await self.request(Join(group_id=group_id, video=video))
            else:
                if len(participants) > MAX_MESH_PEERS and self.host.sfu_above is None:
                    raise LabkitError(
                        ErrorCode.CALL_FULL,
                        f"A mesh call has at most {MAX_MESH_PEERS} remote participants, and this service has no SFU.",
                        "Start the service with an SFU (labkit serve --sfu janus) for larger calls.",
                    )
                message = StartCall(
                    call_id=self.id, participants=participants, video=video, ring_timeout=self.host.ring_timeout
                )
                await self.request(message)
            if self.is_muted:
                await self.send(UpdateState(call_id=self.id, is_muted=True))
        except LabkitError as error:
            await self.finish(end_reasons.for_refusal(error))
        except Exception as error:  # a bug: the call ends and says so, instead of Connecting for good
            logger.exception("call %s: starting the call failed", self.id[:8])
            await self.finish(end_reasons.for_failure(error))

    async def accept(self) -> None:
        """Answer the incoming call this session was made for."""
        self._setup_media()
        self.set_state(CallState.CONNECTING)
        try:
            await self.request(Accept(call_id=self.id, video=self.mesh.video_stream is not None))
            if self.is_muted:
                await self.send(UpdateState(call_id=self.id, is_muted=True))
        except LabkitError as error:
            await self.finish(end_reasons.for_refusal(error))
        except Exception as error:  # a bug: the call ends and says so
            logger.exception("call %s: accepting the call failed", self.id[:8])
            await self.finish(end_reasons.for_failure(error))

    async def hang_up(self, for_everyone: bool) -> None:
        if self.state is CallState.DISCONNECTED:
            return
        self.set_state(CallState.DISCONNECTING)
        try:
            await self.send(HangUp(call_id=self.id, for_everyone=for_everyone))
        except (LabkitError, ConnectionError):
            pass  # no service to tell (it is down): finish here; the peers see the media stop
        else:
            with contextlib.suppress(TimeoutError):  # the service's call-ended finishes the call
                await asyncio.wait_for(self.ended.wait(), HANG_UP_TIMEOUT)
        await self.finish(end_reasons.LOCAL_HANG_UP)  # no answer from the service: finish anyway

    async def rejoin(self) -> None:
        """After the agent reconnected: tell the service this call goes on, with its members and state."""
        try:
            await self.request(
                Rejoin(
                    call_id=self.id,
                    group_id=self.id if self.joined_group else None,
                    is_group_call=self.is_group,
                    participants=list(self.participants),
                    is_muted=self.is_muted,
                    is_video_on=self.mesh.video_stream is not None,
                    is_on_hold=self.held,
                )
            )
        except LabkitError as refusal:
            await self.finish(
                end_reasons.NETWORK.with_message(f"The call could not be restored after a service outage: {refusal}")
            )

    async def finish(self, reason: CallEndReason) -> None:
        """End the call locally: close every peer connection and release every device.

        Whoever calls it returns only once the call is ``Disconnected``.
        """
        if self._finishing:
            await self.ended.wait()
            return
        self._finishing = True
        self.end_reason = reason
        if self._ticker is not None:
            self._ticker.cancel()
        await self.mesh.close_links()
        participants = list(self.participants.values())
        for participant in participants:
            await participant.leave(reason)
        self.participants.clear()
        self.mesh.release()
        for feature in list(self.features.values()):
            feature.on_call_ended()
        if participants:
            self.call.emit("remote_participants_updated", CollectionUpdated(removed=tuple(participants)))
        previous, self.state = self.state, CallState.DISCONNECTED
        self.ended.set()
        self.host.on_call_ended(self.id)  # all state changes first, then the event that reports them
        self.call.emit("state_changed", ValueChanged(CallState.DISCONNECTED, previous))

    # --- controls -------------------------------------------------------------------------

    async def set_muted(self, muted: bool) -> None:
        if muted == self.is_muted:
            return
        self.is_muted = muted
        self.mark("muted" if muted else "unmuted")
        self.mesh.set_muted(muted)
        self.call.emit("is_muted_changed", ValueChanged(muted, not muted))
        await self.send(UpdateState(call_id=self.id, is_muted=muted))

    async def set_constraints(self, constraints: VideoConstraints) -> None:
        self.mesh.set_constraints(constraints)
        send = constraints.send
        self.mark(
            "constraints: "
            + (
                ", ".join(f"{name} {value:g}" for name, value in _limits(send) if value is not None)
                if not send.is_open
                else "none"
            )
        )

    async def start_video(self, stream: LocalVideoStream) -> None:
        if self.mesh.video_stream is stream:
            return
        old_stream = self.mesh.start_video(stream)
        self.mark("video on")
        removed = (old_stream,) if old_stream is not None else ()
        self.call.emit("local_video_streams_updated", CollectionUpdated(added=(stream,), removed=removed))
        await self.send(UpdateState(call_id=self.id, is_video_on=True))

    async def stop_video(self, stream: LocalVideoStream | None) -> None:
        current = self.mesh.video_stream
        if current is None or (stream is not None and stream is not current):
            return
        self.mesh.stop_video()
        self.mark("video off")
        self.call.emit("local_video_streams_updated", CollectionUpdated(removed=(current,)))
        await self.send(UpdateState(call_id=self.id, is_video_on=False))

    async def set_held(self, held: bool) -> None:
        if held == self.held:
            return
        if self.host.connection_state is not ConnectionState.CONNECTED:
            raise LabkitError(
                ErrorCode.SERVICE_UNREACHABLE,
                "Holding needs the labkit service, which is unreachable now; labkit is reconnecting.",
                "Try again in a moment.",
            )
        if self.state not in ESTABLISHED_STATES:
            raise LabkitError(
                ErrorCode.NOT_IN_CALL, f"Only a connected call can be held; this one is {self.state.value}."
            )
        self.held = held
        self.mark("hold" if held else "resume")
        self.mesh.pause(held)
        if self.media == "mesh":  # through an SFU, the service pauses what it forwards to us
            await asyncio.gather(*(link.set_held(held) for link in self.mesh.links.values()))
        await self.send(UpdateState(call_id=self.id, is_on_hold=held))
        self.update_hold_state()

    def update_hold_state(self) -> None:
        if self.state in RINGING_STATES or self.state in (CallState.DISCONNECTING, CallState.DISCONNECTED):
            return
        connected = [
            p
            for p in self.participants.values()
            if p.state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD)
        ]
        if self.held:
            self.set_state(CallState.LOCAL_HOLD)
        elif connected and all(p.is_on_hold for p in connected):
            self.set_state(CallState.REMOTE_HOLD)
        else:
            self.set_state(CallState.CONNECTED)

    # --- links ----------------------------------------------------------------------------

    def link(self, user_id: str) -> PeerLink:
        """The link to ``user_id``, made if there is none yet."""

        async def send(payload: SignalPayload) -> None:
            await self.send(Signal(call_id=self.id, to=user_id, payload=payload))

        known = user_id in self.mesh.links
        direction: LinkDirection = "sendrecv"
        if self.media == "sfu":
            direction = "sendonly" if user_id == SFU_ID else "recvonly"
        link = self.mesh.link(
            user_id,
            send,
            lambda track: self._on_track(user_id, track),
            lambda state: self._on_link_state(user_id, state),
            self.held,
            direction,
        )
        participant = self.participants.get(user_id)
        if not known and participant is not None:
            participant.bind_link(link)
        if not known:
            self.tell_features()  # a feature may watch each link from its start (the inspector captures)
        return link

    def link_state(self, user_id: str) -> str:
        link = self.mesh.links.get(user_id)
        return link.connection_state if link else "new"

    def _on_track(self, user_id: str, track: MediaStreamTrack) -> None:
        participant = self.participants.get(user_id)
        if participant is not None:
            participant.attach_track(track, self.host.speaker, self.mesh.audio_taps)

    def _on_link_state(self, user_id: str, state: str) -> None:
        logger.debug("call %s: link to %s is %s", self.id[:8], user_id, state)
        if state == "connected" and self.state in RINGING_STATES:
            self.set_state(CallState.CONNECTED)
            self.update_hold_state()
        elif (
            state == "failed"
            and self.state in RINGING_STATES
            and all(link.connection_state == "failed" for link in self.mesh.links.values())
        ):
            self._media_failure = asyncio.ensure_future(self._end_without_media(user_id))

    async def move_to_sfu(self) -> None:
        """The service moved this call to its SFU: close the mesh links, and publish."""
        if self.media == "sfu":
            return
        self.media = "sfu"
        self.mark("media through the SFU")
        await self.mesh.close_links()
        if self.state not in (CallState.DISCONNECTING, CallState.DISCONNECTED):
            await self.link(SFU_ID).offer()

    def name_of(self, user_id: str) -> str:
        if user_id == SFU_ID:
            return "the SFU"
        participant = self.participants.get(user_id)
        return participant.display_name if participant is not None and participant.display_name else user_id

    async def _end_without_media(self, user_id: str) -> None:
        """No media path to anyone before the call connected: end it, and say what failed and what to do."""
        name = self.name_of(user_id)
        link = self.mesh.links.get(user_id)
        if link is not None and link.failure == "dtls":
            reason = end_reasons.SECURE_TRANSPORT_FAILED.with_message(
                f"ICE found a path to {name}, but the encrypted media connection (DTLS) could not be set up: "
                "the two sides share no cipher suite or certificate type, or a fingerprint did not match."
            )
        else:
            reason = end_reasons.NETWORK.with_message(
                f"No network path to {name} could be found (ICE failed). Across networks, give the service "
                "a TURN server (labkit serve --ice-server turn:... --turn-secret ...)."
            )
        await self.end_for_media(user_id, reason)

    async def end_for_media(self, user_id: str, reason: CallEndReason) -> None:
        """The media to ``user_id`` failed: end the call (in a group, drop that peer), and say why."""
        others = [p for p in self.participants if p != user_id]
        if self.is_group and others and user_id != SFU_ID:
            await self.mesh.drop(user_id)
            return
        await self.finish(reason)
        with contextlib.suppress(LabkitError, ConnectionError):  # the others are told why
            await self.send(HangUp(call_id=self.id, for_everyone=False, reason=EndReason.of(reason)))

    async def send(self, message: Message) -> None:
        self.note("sent", message)
        await self.host.send(message)

    async def request(self, message: Message) -> Message:
        """Send ``message`` and return the service's reply (which ``call_messages`` notes as it arrives)."""
        self.note("sent", message)
        return await self.host.request(message)

    def note(self, direction: Literal["sent", "received"], message: Message, at: float | None = None) -> None:
        """Keep a message of this call's signaling, with when it went or came (for the inspector)."""
        self.signaling.append(SignalingRecord(time.monotonic() if at is None else at, direction, message))

    def __repr__(self) -> str:
        return f"CallSession({self.id[:8]}, {self.direction.value}, {self.state.value})"


def _limits(send: OutgoingVideoConstraints) -> tuple[tuple[str, float | None], ...]:
    return (
        ("max width", send.max_width),
        ("max height", send.max_height),
        ("max fps", send.max_frame_rate),
        ("max bitrate", send.max_bitrate),
    )
