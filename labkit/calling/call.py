"""A call in progress. ACS: ``Call``.

This is the facade users hold: ACS's properties and methods, and labkit's waits. The work
runs on the engine thread in the call's ``CallSession``; ``call.media`` is the read-only
view of its media that the features above the calling layer use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal

from aiortc import RTCPeerConnection

from ..errors import ErrorCode, LabkitError
from ..identity import CommunicationUserIdentifier
from ..media.video_constraints import OutgoingVideoConstraints, VideoConstraints, video_constraints
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import AddParticipant, RemoveParticipant, checked_user_id
from ..states import CallDirection, CallState, RemoteParticipantState
from .call_media import CallMedia
from .device_manager import DeviceManager
from .event_emitter import Emitter
from .features import Features, create_feature
from .local_video_stream import LocalVideoStream
from .remote_participant import RemoteParticipant

if TYPE_CHECKING:
    from .call_session import CallSession

CallEventName = Literal[
    "state_changed", "is_muted_changed", "remote_participants_updated", "local_video_streams_updated"
]
"""The events of ``Call``."""


class Call(Emitter[CallEventName]):
    """One call: its state, its participants, and the local media sent into it.

    Events: ``state_changed``, ``is_muted_changed`` (``ValueChanged``),
    ``remote_participants_updated`` and ``local_video_streams_updated`` (``CollectionUpdated``).
    """

    def __init__(self, session: CallSession) -> None:
        super().__init__(session.host.dispatcher)
        self._session = session
        self._media = CallMedia(session)
        self.id = session.id
        self.direction: CallDirection = session.direction

    # --- ACS properties -------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._session.state

    @property
    def device_manager(self) -> DeviceManager:
        """The devices this call uses: its agent's (labkit)."""
        return self._session.host.devices

    @property
    def call_end_reason(self) -> CallEndReason | None:
        """Why the call ended; set when ``state`` is ``Disconnected``. ACS: ``callEndReason``."""
        return self._session.end_reason

    @property
    def is_muted(self) -> bool:
        return self._session.is_muted

    @property
    def is_local_video_started(self) -> bool:
        return self._session.mesh.video_stream is not None

    @property
    def local_video_streams(self) -> tuple[LocalVideoStream, ...]:
        stream = self._session.mesh.video_stream
        return () if stream is None else (stream,)

    @property
    def remote_participants(self) -> tuple[RemoteParticipant, ...]:
        return tuple(self._session.participants.values())

    @property
    def is_group_call(self) -> bool:
        return self._session.is_group

    @property
    def is_on_hold(self) -> bool:
        return self._session.held

    @property
    def is_established(self) -> bool:
        """Connected (held or not): its media flows peer to peer and can outlast a signaling outage (labkit)."""
        return self._session.is_established

    @property
    def media_events(self) -> list[tuple[float, str]]:
        """(time.monotonic(), label) of each mute, video on/off, hold/resume, camera switch, join and leave (labkit)."""
        return list(self._session.media_events)

    @property
    def media(self) -> CallMedia:
        """The call's media, read-only: links, participants, feeds (labkit; for stats, recording, inspection)."""
        return self._media

    # --- ACS methods ----------------------------------------------------------------------

    async def mute(self) -> None:
        """Send silence instead of the microphone. ACS: ``mute``."""
        await self._run(self._session.set_muted(True))

    async def unmute(self) -> None:
        """ACS: ``unmute``."""
        await self._run(self._session.set_muted(False))

    async def start_video(self, stream: LocalVideoStream) -> None:
        """Send ``stream``'s camera. ACS: ``startVideo``."""
        if not isinstance(stream, LocalVideoStream):
            raise TypeError("start_video takes a LocalVideoStream, e.g. LocalVideoStream(cameras[0])")
        await self._run(self._session.start_video(stream))

    async def stop_video(self, stream: LocalVideoStream | None = None) -> None:
        """Stop sending video. ACS: ``stopVideo``."""
        await self._run(self._session.stop_video(stream))

    async def set_constraints(
        self, constraints: VideoConstraints | OutgoingVideoConstraints | Mapping[str, Any]
    ) -> None:
        """Limit the video this call sends: size, frame rate, bitrate. ACS: ``setConstraints``.

        ``{"video": {"send": {"frameHeight": {"max": 240}, "frameRate": {"max": 10},
        "bitrate": {"max": 300_000}}}}`` as in ACS web, or ``VideoConstraints``. It applies at
        once, mid-call, to every participant; ``{}`` lifts every limit.
        """
        parsed = video_constraints(constraints)
        await self._run(self._session.set_constraints(parsed))

    @property
    def constraints(self) -> VideoConstraints:
        """The limits set by ``set_constraints`` (none until then)."""
        return self._session.mesh.constraints

    async def hold(self) -> None:
        """Put the call on hold: no media flows either way. ACS: ``hold``."""
        await self._run(self._session.set_held(True))

    async def resume(self) -> None:
        """ACS: ``resume``."""
        await self._run(self._session.set_held(False))

    async def hang_up(self, for_everyone: bool = False) -> None:
        """Leave the call (or end it for everyone). ACS: ``hangUp({forEveryone})``."""
        await self._run(self._session.hang_up(for_everyone), allow_ended=True)

    async def add_participant(self, participant: CommunicationUserIdentifier | str) -> RemoteParticipant | None:
        """Invite one more user. ACS: ``addParticipant``."""
        user_id = checked_user_id(
            participant.id if isinstance(participant, CommunicationUserIdentifier) else participant
        )
        session = self._session
        message = AddParticipant(call_id=self.id, user_id=user_id, ring_timeout=session.host.ring_timeout)
        await self._run(session.send(message))
        with contextlib.suppress(TimeoutError):
            await self._wait_until(
                "remote_participants_updated", lambda: user_id in session.participants, "the invitation", 5.0
            )
        return session.participants.get(user_id)

    async def remove_participant(self, participant: RemoteParticipant | CommunicationUserIdentifier | str) -> None:
        """Remove a participant from the call. ACS: ``removeParticipant``."""
        if isinstance(participant, RemoteParticipant):
            user_id = participant.user_id
        else:
            user_id = participant.id if isinstance(participant, CommunicationUserIdentifier) else str(participant)
        await self._run(self._session.send(RemoveParticipant(call_id=self.id, user_id=user_id)))

    def feature(self, feature: Features) -> Any:
        """An extended feature of the call. ACS: ``call.feature(Features.X)``.

        ``Features.MEDIA_STATS`` gives the media statistics feature (``create_collector``),
        ``Features.USER_FACING_DIAGNOSTICS`` the diagnostics and ``Features.RECORDING`` recording.
        """
        features = self._session.features
        if feature not in features:
            features[feature] = create_feature(feature, self)
        return features[feature]

    # --- waiting (labkit) -----------------------------------------------------------------

    async def wait_for_state(self, state: CallState | str, timeout: float = 10.0) -> None:
        """Wait until the call is in ``state``; ``TimeoutError`` after ``timeout`` seconds.

        Waiting for anything but ``Disconnected`` fails at once if the call ends first.
        """
        wanted = CallState(state)
        session = self._session

        def reached() -> bool:
            if session.state is CallState.DISCONNECTED and wanted is not CallState.DISCONNECTED:
                raise LabkitError(
                    ErrorCode.CALL_NOT_FOUND,
                    f"The call ended ({session.end_reason}) before reaching {wanted.value}.",
                )
            return session.state is wanted

        await self._wait_until("state_changed", reached, f"Call reaching {wanted.value}", timeout)

    async def wait_for_remote_participants(
        self, count: int, state: RemoteParticipantState | str = RemoteParticipantState.CONNECTED, timeout: float = 10.0
    ) -> tuple[RemoteParticipant, ...]:
        """Wait until ``count`` remote participants are in ``state`` (and their media connected)."""
        wanted = RemoteParticipantState(state)
        session = self._session

        def ready() -> tuple[RemoteParticipant, ...]:
            return tuple(
                p
                for p in session.participants.values()
                if p.state is wanted
                and (wanted is not RemoteParticipantState.CONNECTED or session.link_state(p.user_id) == "connected")
            )

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(ready()) < count:
            if session.state is CallState.DISCONNECTED:
                raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"The call ended ({session.end_reason}).")
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
        link = self._session.mesh.links.get(user_id)
        return link.pc if link is not None else None

    async def _run(self, coro: Coroutine[Any, Any, None], *, allow_ended: bool = False) -> None:
        self._dispatcher.bind()
        if self._session.state is CallState.DISCONNECTED and not allow_ended:
            coro.close()
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"The call has ended ({self._session.end_reason}).")
        await self._session.host.engine.run(coro)

    def __repr__(self) -> str:
        return f"Call({self.id[:8]}, {self.direction.value}, {self._session.state.value})"
