"""``CallMedia``: a call's media as the layers above the calling layer see it (labkit).

W3C has the pieces (``RTCPeerConnection.getStats()``, tracks, transports); ACS hides them.
Stats, diagnostics, recording and the inspector read a call through this view and never
reach into it: per remote participant, its ``MediaLink`` (RTP counters, encoder inputs,
codecs, ICE and DTLS states, ``getStats()``); per call, the participants, the local feeds
and the media events. The few changes it allows are the ones features need: marking an
event, tapping remote audio, and telling the others that this agent records.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import ArgumentError
from ..media.engine import MediaEngine
from ..media.feed_track import AudioFeedTrack, VideoFeedTrack
from ..media.media_link import MediaLink
from ..protocol.messages import UpdateState
from ..states import ConnectionState
from .event_emitter import EventDispatcher
from .local_video_stream import LocalVideoStream
from .mesh import AudioTap
from .remote_participant import RemoteParticipant

if TYPE_CHECKING:
    from .call_session import CallSession, SignalingRecord


class CallMedia:
    """The read-only media view of one call: ``call.media``."""

    def __init__(self, session: CallSession) -> None:
        self._session = session

    @property
    def call_id(self) -> str:
        return self._session.id

    @property
    def engine(self) -> MediaEngine:
        """The engine thread the call's media runs on (run work there with ``engine.run``)."""
        return self._session.host.engine

    @property
    def dispatcher(self) -> EventDispatcher:
        """Delivers events to the user's loop: a feature's own events go through it."""
        return self._session.host.dispatcher

    @property
    def links(self) -> Mapping[str, MediaLink]:
        """The media path to each remote participant with one, by user id (a snapshot)."""
        return MappingProxyType(dict(self._session.mesh.links))

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The remote participants, by user id (a snapshot)."""
        return MappingProxyType(dict(self._session.participants))

    @property
    def audio_feed(self) -> AudioFeedTrack | None:
        """What this agent sends as audio: the microphone (level, frames, failures), before the encoders."""
        return self._session.mesh.audio_feed

    @property
    def video_feed(self) -> VideoFeedTrack | None:
        """What this agent sends as video: the camera's frames, before the encoders."""
        return self._session.mesh.video_feed

    @property
    def video_stream(self) -> LocalVideoStream | None:
        """The camera stream this agent sends, if any."""
        return self._session.mesh.video_stream

    def user_id_of(self, participant: RemoteParticipant | str) -> str:
        """A remote participant's user id, from the participant, its user id or its display name."""
        if isinstance(participant, RemoteParticipant):
            return participant.user_id
        for user_id, remote in self._session.participants.items():
            if participant in (user_id, remote.display_name):
                return user_id
        return participant

    def link_of(
        self, participant: RemoteParticipant | str | None, links: Mapping[str, MediaLink] | None = None
    ) -> MediaLink:
        """The link to ``participant`` (``None``: the only or first one) among ``links`` (default: ``links``)."""
        found = self.links if links is None else links
        if not found:
            raise ArgumentError("The call has no media link yet.", "Wait until it is Connected.")
        if participant is None:
            return next(iter(found.values()))
        user_id = self.user_id_of(participant)
        if user_id not in found:
            raise ArgumentError(f"No media link to {participant!r} in this call.")
        return found[user_id]

    @property
    def local_name(self) -> str:
        """This agent's display name."""
        return self._session.host.display_name

    @property
    def is_service_connected(self) -> bool:
        """The agent's signaling connection to the service is up."""
        return self._session.host.connection_state is ConnectionState.CONNECTED

    @property
    def local_user_id(self) -> str:
        """This agent's user id."""
        return self._session.host.user_id

    @property
    def signaling(self) -> tuple[SignalingRecord, ...]:
        """Every message of this call to and from the service so far, oldest first."""
        return tuple(self._session.signaling)

    @property
    def started_at(self) -> float:
        """``time.monotonic()`` when the call began (its first message, or now if none yet)."""
        records = self._session.signaling
        return records[0].time if records else self._session.created_at

    @property
    def events(self) -> list[tuple[float, str]]:
        """(time.monotonic(), label) of each media event so far."""
        return list(self._session.media_events)

    def mark(self, label: str) -> None:
        """Add a media event (engine thread)."""
        self._session.mark(label)

    def add_audio_tap(self, tap: AudioTap) -> None:
        """Give ``tap(user_id, frame)`` every remote audio frame from now on (engine thread)."""
        self._session.mesh.audio_taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        if tap in self._session.mesh.audio_taps:
            self._session.mesh.audio_taps.remove(tap)

    async def announce_recording(self, active: bool) -> None:
        """Tell the others that this agent records the call, or no longer does (engine thread)."""
        session = self._session
        session.mark("recording" if active else "recording stopped")
        await session.send(UpdateState(call_id=session.id, is_recording=active))
