"""A call in progress. ACS: ``Call``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from av import AudioFrame

from ..errors import ErrorCode, LabkitError, TokenError
from ..identity import CommunicationUserIdentifier
from ..media.devices import VideoDeviceInfo
from ..media.encoder_input import EncoderInputTrack
from ..media.feed_track import AudioFeedTrack, VideoFeedTrack
from ..media.liveness import DEAD_SECONDS
from ..media.peer_link import PeerLink
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    AddParticipant,
    CallEnded,
    EndReason,
    HangUp,
    Participant,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Rejoin,
    RemoveParticipant,
    Roster,
    Signal,
    SignalPayload,
    UpdateState,
    checked_user_id,
)
from ..states import CallDirection, CallState, ConnectionState, RemoteParticipantState
from .events import CollectionUpdated, Emitter, ValueChanged
from .features import CallFeature, Features, create_feature
from .local_video_stream import LocalVideoStream
from .remote_participant import RemoteParticipant

if TYPE_CHECKING:
    from .call_agent import CallAgent
    from .device_manager import DeviceManager

logger = logging.getLogger(__name__)

MAX_MESH_PEERS = 8
"""Most remote participants in one call: each is a peer connection of its own (a mesh)."""
HANG_UP_TIMEOUT = 3.0
SPEAKING_INTERVAL = 0.1

_RINGING_STATES = (CallState.NONE, CallState.CONNECTING, CallState.RINGING, CallState.EARLY_MEDIA)


def _refused(error: LabkitError) -> CallEndReason:
    """The end reason for a request the service refused."""
    if isinstance(error, TokenError):
        return end_reasons.INVALID_TOKEN.with_message(error.message)
    return end_reasons.REQUEST_REFUSED.with_message(f"{error.code.value}: {error.message}")


def _failed(error: Exception) -> CallEndReason:
    """The end reason for engine-side work that failed unexpectedly (the log has the traceback)."""
    return end_reasons.INTERNAL_FAILURE.with_message(
        f"labkit failed to set up the call ({type(error).__name__}: {str(error)[:200]}); see the log."
    )


def log_failure(what: str) -> Callable[[asyncio.Future[Any] | concurrent.futures.Future[Any]], None]:
    """A done-callback for work that nobody awaits: its failure is logged, never lost."""

    def done(work: asyncio.Future[Any] | concurrent.futures.Future[Any]) -> None:
        if not work.cancelled() and (error := work.exception()) is not None:
            logger.error("%s failed", what, exc_info=error)

    return done


class Call(Emitter):
    """One call: its state, its participants, and the local media sent into it.

    Events: ``state_changed``, ``is_muted_changed`` (``ValueChanged``),
    ``remote_participants_updated`` and ``local_video_streams_updated`` (``CollectionUpdated``).
    """

    EVENTS = ("state_changed", "is_muted_changed", "remote_participants_updated", "local_video_streams_updated")

    def __init__(
        self,
        agent: CallAgent,
        call_id: str,
        direction: CallDirection,
        *,
        muted: bool,
        video: LocalVideoStream | None,
    ) -> None:
        super().__init__(agent._dispatcher)
        self._agent = agent
        self._engine = agent._engine
        self.id = call_id
        self.direction = direction
        self._state = CallState.NONE
        self._end_reason: CallEndReason | None = None
        self._is_muted = muted
        self._video_stream = video
        self._participants: dict[str, RemoteParticipant] = {}
        self._links: dict[str, PeerLink] = {}
        self._is_group = False
        self._joined_group = False
        self._held = False
        self._audio_feed: AudioFeedTrack | None = None
        self._video_feed: VideoFeedTrack | None = None
        self._relays: tuple[MediaRelay, MediaRelay] | None = None
        self._video_proxy: MediaStreamTrack | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.media_events: list[tuple[float, str]] = []
        """(time.monotonic(), label) of each mute, video on/off, hold/resume, camera switch, join and leave (labkit)."""
        self._features: dict[Features, CallFeature] = {}
        self._media_failure: asyncio.Future[None] | None = None
        self._audio_taps: list[Callable[[str, AudioFrame], None]] = []
        """Given every remote audio frame with its sender's user id (a call recording)."""
        self._finishing = False
        self._ended = asyncio.Event()
        self._gone: set[str] = set()
        """Peers found frozen or gone (nothing heard for ``DEAD_SECONDS``), being dropped."""

    # --- ACS properties -------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def device_manager(self) -> DeviceManager:
        """The devices this call uses: its agent's (labkit)."""
        return self._agent.device_manager

    @property
    def call_end_reason(self) -> CallEndReason | None:
        """Why the call ended; set when ``state`` is ``Disconnected``. ACS: ``callEndReason``."""
        return self._end_reason

    @property
    def is_muted(self) -> bool:
        return self._is_muted

    @property
    def is_local_video_started(self) -> bool:
        return self._video_stream is not None

    @property
    def local_video_streams(self) -> tuple[LocalVideoStream, ...]:
        return () if self._video_stream is None else (self._video_stream,)

    @property
    def remote_participants(self) -> tuple[RemoteParticipant, ...]:
        return tuple(self._participants.values())

    @property
    def is_group_call(self) -> bool:
        return self._is_group

    @property
    def is_on_hold(self) -> bool:
        return self._held

    @property
    def is_established(self) -> bool:
        """Connected (held or not): its media flows peer to peer and can outlast a signaling outage (labkit)."""
        return self._state in (CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD)

    # --- ACS methods ----------------------------------------------------------------------

    async def mute(self) -> None:
        """Send silence instead of the microphone. ACS: ``mute``."""
        await self._run(self._set_muted(True))

    async def unmute(self) -> None:
        """ACS: ``unmute``."""
        await self._run(self._set_muted(False))

    async def start_video(self, stream: LocalVideoStream) -> None:
        """Send ``stream``'s camera. ACS: ``startVideo``."""
        if not isinstance(stream, LocalVideoStream):
            raise TypeError("start_video takes a LocalVideoStream, e.g. LocalVideoStream(cameras[0])")
        await self._run(self._start_video(stream))

    async def stop_video(self, stream: LocalVideoStream | None = None) -> None:
        """Stop sending video. ACS: ``stopVideo``."""
        await self._run(self._stop_video(stream))

    async def hold(self) -> None:
        """Put the call on hold: no media flows either way. ACS: ``hold``."""
        await self._run(self._set_held(True))

    async def resume(self) -> None:
        """ACS: ``resume``."""
        await self._run(self._set_held(False))

    async def hang_up(self, for_everyone: bool = False) -> None:
        """Leave the call (or end it for everyone). ACS: ``hangUp({forEveryone})``."""
        await self._run(self._hang_up(for_everyone), allow_ended=True)

    async def add_participant(self, participant: CommunicationUserIdentifier | str) -> RemoteParticipant | None:
        """Invite one more user. ACS: ``addParticipant``."""
        user_id = checked_user_id(
            participant.id if isinstance(participant, CommunicationUserIdentifier) else participant
        )
        await self._run(
            self._send(AddParticipant(call_id=self.id, user_id=user_id, ring_timeout=self._agent.ring_timeout))
        )
        with contextlib.suppress(TimeoutError):
            await self._wait_until(
                "remote_participants_updated", lambda: user_id in self._participants, "the invitation", 5.0
            )
        return self._participants.get(user_id)

    async def remove_participant(self, participant: RemoteParticipant | CommunicationUserIdentifier | str) -> None:
        """Remove a participant from the call. ACS: ``removeParticipant``."""
        if isinstance(participant, RemoteParticipant):
            user_id = participant.user_id
        else:
            user_id = participant.id if isinstance(participant, CommunicationUserIdentifier) else str(participant)
        await self._run(self._send(RemoveParticipant(call_id=self.id, user_id=user_id)))

    def feature(self, feature: Features) -> Any:
        """An extended feature of the call. ACS: ``call.feature(Features.X)``.

        ``Features.MEDIA_STATS`` gives the media statistics feature (``create_collector``),
        ``Features.USER_FACING_DIAGNOSTICS`` the diagnostics and ``Features.RECORDING`` recording.
        """
        if feature not in self._features:
            self._features[feature] = create_feature(feature, self)
        return self._features[feature]

    def _features_made(self) -> list[CallFeature]:
        """The features made so far, to tell them of the call's events (engine thread)."""
        return list(self._features.values())

    def _mark(self, label: str) -> None:
        self.media_events.append((time.monotonic(), label))

    def _on_camera_switch(self, camera: VideoDeviceInfo) -> None:
        self._mark("switch camera")

    # --- waiting (labkit) -----------------------------------------------------------------

    async def wait_for_state(self, state: CallState | str, timeout: float = 10.0) -> None:
        """Wait until the call is in ``state``; ``TimeoutError`` after ``timeout`` seconds.

        Waiting for anything but ``Disconnected`` fails at once if the call ends first.
        """
        wanted = CallState(state)

        def reached() -> bool:
            if self._state is CallState.DISCONNECTED and wanted is not CallState.DISCONNECTED:
                raise LabkitError(
                    ErrorCode.CALL_NOT_FOUND,
                    f"The call ended ({self._end_reason}) before reaching {wanted.value}.",
                )
            return self._state is wanted

        await self._wait_until("state_changed", reached, f"Call reaching {wanted.value}", timeout)

    async def wait_for_remote_participants(
        self, count: int, state: RemoteParticipantState | str = RemoteParticipantState.CONNECTED, timeout: float = 10.0
    ) -> tuple[RemoteParticipant, ...]:
        """Wait until ``count`` remote participants are in ``state`` (and their media connected)."""
        wanted = RemoteParticipantState(state)

        def ready() -> tuple[RemoteParticipant, ...]:
            return tuple(
                p
                for p in self._participants.values()
                if p.state is wanted
                and (wanted is not RemoteParticipantState.CONNECTED or self._link_state(p.user_id) == "connected")
            )

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(ready()) < count:
            if self._state is CallState.DISCONNECTED:
                raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"The call ended ({self._end_reason}).")
            if loop.time() > deadline:
                raise TimeoutError(f"{count} participants {wanted.value} did not happen within {timeout:g} s")
            await asyncio.sleep(0.02)
        return ready()

    def peer_connection(self, participant: RemoteParticipant | str) -> RTCPeerConnection | None:
        """The aiortc ``RTCPeerConnection`` to ``participant``, for looking under the hood (labkit).

        Read its ``localDescription.sdp``, ``remoteDescription.sdp``, ``connectionState`` or
        ``getTransceivers()``. Changing it behind the call's back is not supported.
        """
        user_id = participant.user_id if isinstance(participant, RemoteParticipant) else participant
        link = self._links.get(user_id)
        return link.pc if link is not None else None

    def _link_state(self, user_id: str) -> str:
        link = self._links.get(user_id)
        return link.connection_state if link else "new"

    # --- engine side: lifecycle -----------------------------------------------------------

    async def _run(self, coro: object, *, allow_ended: bool = False) -> None:
        self._dispatcher.bind()
        if self._state is CallState.DISCONNECTED and not allow_ended:
            coro.close()  # type: ignore[attr-defined]
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"The call has ended ({self._end_reason}).")
        await self._engine.run(coro)  # type: ignore[arg-type]

    def _set_state(self, state: CallState) -> None:
        if state is not self._state and self._state is not CallState.DISCONNECTED:
            previous, self._state = self._state, state
            logger.debug("call %s: %s -> %s", self.id[:8], previous.value, state.value)
            self._emit("state_changed", ValueChanged(state, previous))

    def _setup_media(self) -> None:
        """Create this call's audio and video feeds (engine thread)."""
        self._audio_feed = AudioFeedTrack()
        self._audio_feed.muted = self._is_muted
        self._audio_feed.attach(self._agent._devices.open_microphone())
        self._video_feed = VideoFeedTrack()
        if self._video_stream is not None:
            self._video_proxy = self._video_stream.subscribe()
            self._video_stream.on_switch(self._on_camera_switch)
            self._video_feed.attach(self._video_proxy)
        self._relays = (MediaRelay(), MediaRelay())
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name=f"labkit-call-ticker {self.id[:8]}")

    def _switch_microphone(self) -> None:
        if self._audio_feed is not None:
            old = self._audio_feed.source
            self._audio_feed.attach(self._agent._devices.open_microphone())
            if old is not None:
                old.stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(SPEAKING_INTERVAL)
            for participant in list(self._participants.values()):
                participant.refresh_speaking()
            self._check_liveness()

    def _check_liveness(self) -> None:
        """End the link to a peer that sent nothing (no RTP, no RTCP) for ``DEAD_SECONDS``: frozen or gone."""
        for user_id, link in list(self._links.items()):
            participant = self._participants.get(user_id)
            if self._held or (participant is not None and participant.is_on_hold):
                link.liveness.heard()  # a held link may be silent: browsers send nothing while inactive
                continue
            if link.silence() > DEAD_SECONDS and user_id not in self._gone:
                self._gone.add(user_id)
                task = asyncio.ensure_future(self._peer_gone(user_id, link.silence()))
                task.add_done_callback(log_failure("dropping a frozen peer"))

    async def _peer_gone(self, user_id: str, silence: float) -> None:
        participant = self._participants.get(user_id)
        name = participant.display_name if participant is not None and participant.display_name else user_id
        logger.warning("call %s: nothing from %s for %.1f s; the peer is frozen or gone", self.id[:8], name, silence)
        reason = end_reasons.NETWORK.with_message(
            f"Nothing arrived from {name} for {silence:.0f} s (no media, no RTCP): their app froze or lost the network."
        )
        if self._is_group and len(self._participants) > 1:
            await self._on_participant_left(user_id, reason)  # the others go on
            self._gone.discard(user_id)  # should it come back, it is judged afresh
            return
        await self._finish(reason)
        with contextlib.suppress(LabkitError, ConnectionError):
            await self._send(HangUp(call_id=self.id, for_everyone=False))

    async def _start_outgoing(self, participants: list[str], *, group_id: str | None) -> None:
        from ..protocol.messages import Join, StartCall

        self._setup_media()
        self._set_state(CallState.CONNECTING)
        video = self._video_stream is not None
        try:
            token_ok = not self._agent._credential.is_expired()
            if not token_ok:
                raise TokenError(ErrorCode.TOKEN_EXPIRED, "The agent's token has expired.", "Create the agent again.")
            if group_id is not None:
                self._joined_group = self._is_group = True
                await self._agent._request(Join(group_id=group_id, video=video))
            else:
                if len(participants) > MAX_MESH_PEERS:
                    raise LabkitError(
                        ErrorCode.CALL_FULL, f"A labkit call has at most {MAX_MESH_PEERS} remote participants."
                    )
                message = StartCall(
                    call_id=self.id, participants=participants, video=video, ring_timeout=self._agent.ring_timeout
                )
                await self._agent._request(message)
            if self._is_muted:
                await self._send(UpdateState(call_id=self.id, is_muted=True))
        except LabkitError as error:
            await self._finish(_refused(error))
        except Exception as error:  # a bug: the call ends and says so, instead of Connecting for good
            logger.exception("call %s: starting the call failed", self.id[:8])
            await self._finish(_failed(error))

    async def _accept(self) -> None:
        from ..protocol.messages import Accept

        self._setup_media()
        self._set_state(CallState.CONNECTING)
        try:
            await self._agent._request(Accept(call_id=self.id, video=self._video_stream is not None))
            if self._is_muted:
                await self._send(UpdateState(call_id=self.id, is_muted=True))
        except LabkitError as error:
            await self._finish(_refused(error))
        except Exception as error:  # a bug: the call ends and says so
            logger.exception("call %s: accepting the call failed", self.id[:8])
            await self._finish(_failed(error))

    async def _hang_up(self, for_everyone: bool) -> None:
        if self._state is CallState.DISCONNECTED:
            return
        self._set_state(CallState.DISCONNECTING)
        try:
            await self._send(HangUp(call_id=self.id, for_everyone=for_everyone))
        except (LabkitError, ConnectionError):
            pass  # no service to tell (it is down): finish here; the peers see the media stop
        else:
            with contextlib.suppress(TimeoutError):  # the service's call-ended finishes the call
                await asyncio.wait_for(self._ended.wait(), HANG_UP_TIMEOUT)
        await self._finish(end_reasons.LOCAL_HANG_UP)  # no answer from the service: finish anyway

    async def _rejoin(self) -> None:
        """After the agent reconnected: tell the service this call goes on, with its members and state."""
        try:
            await self._agent._request(
                Rejoin(
                    call_id=self.id,
                    group_id=self.id if self._joined_group else None,
                    is_group_call=self._is_group,
                    participants=list(self._participants),
                    is_muted=self._is_muted,
                    is_video_on=self._video_stream is not None,
                    is_on_hold=self._held,
                )
            )
        except LabkitError as refused:
            await self._finish(
                end_reasons.NETWORK.with_message(f"The call could not be restored after a service outage: {refused}")
            )

    async def _finish(self, reason: CallEndReason) -> None:
        """End the call locally: close every peer connection and release every device.

        Whoever calls it returns only once the call is ``Disconnected``.
        """
        if self._finishing:
            await self._ended.wait()
            return
        self._finishing = True
        self._end_reason = reason
        if self._ticker is not None:
            self._ticker.cancel()
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
        participants = list(self._participants.values())
        for participant in participants:
            await participant.leave(reason)
        self._participants.clear()
        for feed in (self._audio_feed, self._video_feed):
            if feed is not None:
                source = feed.source
                feed.stop()
                if source is not None and feed is self._audio_feed:
                    source.stop()
        if self._video_stream is not None and self._video_proxy is not None:
            self._video_stream.off_switch(self._on_camera_switch)
            self._video_stream.unsubscribe(self._video_proxy)
            self._video_proxy = None
        for feature in self._features_made():
            feature.on_call_ended()
        if participants:
            self._emit("remote_participants_updated", CollectionUpdated(removed=tuple(participants)))
        previous, self._state = self._state, CallState.DISCONNECTED
        self._ended.set()
        self._agent._forget(self)  # all state changes first, then the event that reports them
        self._emit("state_changed", ValueChanged(CallState.DISCONNECTED, previous))

    # --- engine side: controls ------------------------------------------------------------

    async def _set_muted(self, muted: bool) -> None:
        if muted == self._is_muted:
            return
        self._is_muted = muted
        self._mark("muted" if muted else "unmuted")
        if self._audio_feed is not None:
            self._audio_feed.muted = muted
        self._emit("is_muted_changed", ValueChanged(muted, not muted))
        await self._send(UpdateState(call_id=self.id, is_muted=muted))

    async def _start_video(self, stream: LocalVideoStream) -> None:
        if self._video_stream is stream:
            return
        old_stream, old_proxy = self._video_stream, self._video_proxy
        self._video_stream = stream
        self._video_proxy = stream.subscribe()
        stream.on_switch(self._on_camera_switch)
        self._mark("video on")
        if self._video_feed is not None:
            self._video_feed.attach(self._video_proxy)
        if old_stream is not None and old_proxy is not None:
            old_stream.off_switch(self._on_camera_switch)
            old_stream.unsubscribe(old_proxy)
        removed = (old_stream,) if old_stream is not None else ()
        self._emit("local_video_streams_updated", CollectionUpdated(added=(stream,), removed=removed))
        await self._send(UpdateState(call_id=self.id, is_video_on=True))

    async def _stop_video(self, stream: LocalVideoStream | None) -> None:
        current = self._video_stream
        if current is None or (stream is not None and stream is not current):
            return
        if self._video_feed is not None:
            self._video_feed.attach(None)
        if self._video_proxy is not None:
            current.off_switch(self._on_camera_switch)
            current.unsubscribe(self._video_proxy)
        self._video_stream, self._video_proxy = None, None
        self._mark("video off")
        self._emit("local_video_streams_updated", CollectionUpdated(removed=(current,)))
        await self._send(UpdateState(call_id=self.id, is_video_on=False))

    async def _set_held(self, held: bool) -> None:
        if held == self._held:
            return
        if self._agent.connection_state is not ConnectionState.CONNECTED:
            raise LabkitError(
                ErrorCode.SERVICE_UNREACHABLE,
                "Holding needs the labkit service, which is unreachable now; labkit is reconnecting.",
                "Try again in a moment.",
            )
        if self._state not in (CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD):
            raise LabkitError(
                ErrorCode.NOT_IN_CALL, f"Only a connected call can be held; this one is {self._state.value}."
            )
        self._held = held
        self._mark("hold" if held else "resume")
        for feed in (self._audio_feed, self._video_feed):
            if feed is not None:
                feed.pause(held)
        await asyncio.gather(*(link.set_held(held) for link in self._links.values()))
        await self._send(UpdateState(call_id=self.id, is_on_hold=held))
        self._update_hold_state()

    def _update_hold_state(self) -> None:
        if self._state in _RINGING_STATES or self._state in (CallState.DISCONNECTING, CallState.DISCONNECTED):
            return
        connected = [
            p
            for p in self._participants.values()
            if p.state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD)
        ]
        if self._held:
            self._set_state(CallState.LOCAL_HOLD)
        elif connected and all(p.is_on_hold for p in connected):
            self._set_state(CallState.REMOTE_HOLD)
        else:
            self._set_state(CallState.CONNECTED)

    # --- engine side: messages from the service -------------------------------------------

    async def _on_message(self, message: object) -> None:
        match message:
            case Roster():
                await self._on_roster(message)
            case ParticipantJoined():
                self._is_group = True  # someone beyond the first callee: a group call now
                self._add_participant(message.participant)
            case ParticipantUpdated():
                self._on_participant_updated(message.participant)
            case ParticipantLeft():
                await self._on_participant_left(message.user_id, message.reason.to_reason())
            case Signal():
                await self._on_signal(message)
            case CallEnded():
                await self._finish(message.reason.to_reason())

    async def _on_roster(self, roster: Roster) -> None:
        self._is_group = roster.is_group_call
        me = self._agent.user_id
        for wire in roster.participants:
            if wire.user_id != me:
                if wire.user_id in self._participants:
                    self._participants[wire.user_id].update(wire)
                else:
                    self._add_participant(wire)
        if roster.rejoined:
            self._update_hold_state()
            return  # after a service outage: the links are up already, nobody offers
        peers = [
            p
            for p in self._participants.values()
            if p.state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD)
        ]
        if len(peers) > MAX_MESH_PEERS:
            await self._hang_up(False)
            return
        if not peers and self._joined_group:
            self._set_state(CallState.CONNECTED)
        for peer in peers:  # the mesh rule: whoever arrives offers to everyone connected
            await self._link(peer.user_id).offer()

    def _add_participant(self, wire: Participant) -> None:
        if wire.user_id == self._agent.user_id or wire.user_id in self._participants:
            return
        participant = RemoteParticipant(self._engine, self._dispatcher, wire)
        self._participants[wire.user_id] = participant
        self._mark(f"{participant.display_name or 'someone'} joined")
        self._emit("remote_participants_updated", CollectionUpdated(added=(participant,)))
        self._update_ringing()
        for feature in self._features_made():
            feature.on_participants_changed()

    def _on_participant_updated(self, wire: Participant) -> None:
        participant = self._participants.get(wire.user_id)
        if participant is None:
            self._add_participant(wire)
            return
        was_on_hold = participant.is_on_hold
        participant.update(wire)
        if participant.is_on_hold != was_on_hold:
            self._mark(f"{participant.display_name} {'holds' if participant.is_on_hold else 'resumes'}")
        self._update_ringing()
        self._update_hold_state()
        for feature in self._features_made():
            feature.on_participants_changed()

    def _update_ringing(self) -> None:
        if self._state is CallState.CONNECTING and any(
            p.state is RemoteParticipantState.RINGING for p in self._participants.values()
        ):
            self._set_state(CallState.RINGING)

    async def _on_participant_left(self, user_id: str, reason: CallEndReason) -> None:
        participant = self._participants.pop(user_id, None)
        link = self._links.pop(user_id, None)
        if link is not None:
            await link.close()
        if participant is not None:
            self._mark(f"{participant.display_name or 'someone'} left")
            self._agent._speaker_forget(user_id)
            await participant.leave(reason)
            self._emit("remote_participants_updated", CollectionUpdated(removed=(participant,)))
        self._update_hold_state()
        for feature in self._features_made():
            feature.on_participants_changed()

    async def _on_signal(self, signal: Signal) -> None:
        sender = signal.from_
        if sender is None or sender not in self._participants:
            logger.warning("call %s: a signal from %s, who is not a participant", self.id[:8], sender)
            return
        try:
            await self._link(sender).handle(signal.payload)
        except LabkitError as error:
            if error.code is not ErrorCode.OFFER_NOT_ACCEPTABLE:
                raise
            logger.warning("call %s: %s", self.id[:8], error.message)
            await self._end_for_media(sender, end_reasons.NOT_ACCEPTABLE.with_message(error.message))
        except Exception:
            logger.exception("call %s: negotiation with %s failed", self.id[:8], sender)

    def _link(self, user_id: str) -> PeerLink:
        link = self._links.get(user_id)
        if link is None:
            assert self._audio_feed is not None
            assert self._video_feed is not None
            assert self._relays is not None
            audio_relay, video_relay = self._relays

            async def send(payload: SignalPayload) -> None:
                await self._send(Signal(call_id=self.id, to=user_id, payload=payload))

            participant = self._participants.get(user_id)
            link = PeerLink(
                user_id,
                EncoderInputTrack(audio_relay.subscribe(self._audio_feed, buffered=True)),
                EncoderInputTrack(video_relay.subscribe(self._video_feed, buffered=False)),
                self._agent._rtc_configuration,
                send,
                lambda track: self._on_track(user_id, track),
                lambda state: self._on_link_state(user_id, state),
            )
            link.held = self._held
            self._links[user_id] = link
            if participant is not None:
                participant._link = link
        return link

    def _on_track(self, user_id: str, track: MediaStreamTrack) -> None:
        participant = self._participants.get(user_id)
        if participant is not None:
            participant.attach_track(track, self._agent._current_speaker, self._audio_taps)

    def _on_link_state(self, user_id: str, state: str) -> None:
        logger.debug("call %s: link to %s is %s", self.id[:8], user_id, state)
        if state == "connected" and self._state in _RINGING_STATES:
            self._set_state(CallState.CONNECTED)
            self._update_hold_state()
        elif (
            state == "failed"
            and self._state in _RINGING_STATES
            and all(link.connection_state == "failed" for link in self._links.values())
        ):
            self._media_failure = asyncio.ensure_future(self._end_without_media(user_id))

    async def _end_without_media(self, user_id: str) -> None:
        """No media path to anyone before the call connected: end it, and say what failed and what to do."""
        participant = self._participants.get(user_id)
        name = participant.display_name if participant is not None and participant.display_name else user_id
        link = self._links.get(user_id)
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
        await self._end_for_media(user_id, reason)

    async def _end_for_media(self, user_id: str, reason: CallEndReason) -> None:
        """The media to ``user_id`` failed: end the call (in a group, drop that peer), and say why."""
        others = [p for p in self._participants if p != user_id]
        if self._is_group and others:
            link = self._links.pop(user_id, None)
            if link is not None:
                await link.close()
            return
        await self._finish(reason)
        with contextlib.suppress(LabkitError, ConnectionError):  # the others are told why
            await self._send(HangUp(call_id=self.id, for_everyone=False, reason=EndReason.of(reason)))

    async def _send(self, message: object) -> None:
        await self._agent._send(message)

    def __repr__(self) -> str:
        return f"Call({self.id[:8]}, {self.direction.value}, {self._state.value})"
