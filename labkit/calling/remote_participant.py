"""Another participant of a call. ACS: ``RemoteParticipant``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from aiortc import MediaStreamTrack
from av import AudioFrame

from ..identity import CommunicationUserIdentifier
from ..media.engine import MediaEngine
from ..media.media_link import MediaLink
from ..media.rtp_counter import RtpReceiveCounter
from ..media.sinks import AudioSink
from ..media.speaker import Speaker
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import Participant
from ..states import RemoteParticipantState
from .event_emitter import CollectionUpdated, Emitter, EventDispatcher, ValueChanged
from .remote_video_stream import RemoteVideoStream

SPEAKING_THRESHOLD_DBFS = -45.0
"""Received audio above this level (over 200 ms) counts as speaking."""


RemoteParticipantEventName = Literal[
    "state_changed", "is_muted_changed", "is_speaking_changed", "display_name_changed", "video_streams_updated"
]
"""The events of ``RemoteParticipant``."""


class RemoteParticipant(Emitter[RemoteParticipantEventName]):
    """A remote participant: who, in what state, muted or speaking, and their video.

    Events: ``state_changed``, ``is_muted_changed``, ``is_speaking_changed``,
    ``display_name_changed`` (``ValueChanged``) and ``video_streams_updated``
    (``CollectionUpdated``).
    """

    def __init__(self, engine: MediaEngine, dispatcher: EventDispatcher, wire: Participant) -> None:
        super().__init__(dispatcher)
        self.identifier = CommunicationUserIdentifier(wire.user_id)
        self._display_name = wire.display_name
        self._state = RemoteParticipantState.IDLE
        self._is_muted = wire.is_muted
        self._is_on_hold = wire.is_on_hold
        self._is_recording = wire.is_recording
        self._is_speaking = False
        self._end_reason: CallEndReason | None = None
        self._video = RemoteVideoStream(engine, dispatcher, wire.display_name or wire.user_id)
        self._audio: AudioSink | None = None
        self._link: MediaLink | None = None
        self._final_bytes = 0
        self._apply_state(wire)

    @property
    def user_id(self) -> str:
        return self.identifier.id

    @property
    def display_name(self) -> str:
        return self._display_name

    @property
    def state(self) -> RemoteParticipantState:
        return self._state

    @property
    def is_muted(self) -> bool:
        return self._is_muted

    @property
    def is_speaking(self) -> bool:
        return self._is_speaking

    @property
    def is_on_hold(self) -> bool:
        return self._is_on_hold

    @property
    def is_recording(self) -> bool:
        """This participant is recording the call (labkit; ACS tells it per call, not per person)."""
        return self._is_recording

    @property
    def video_streams(self) -> tuple[RemoteVideoStream, ...]:
        return () if self._state is RemoteParticipantState.DISCONNECTED else (self._video,)

    @property
    def call_end_reason(self) -> CallEndReason | None:
        """Why this participant left (set when ``state`` is ``Disconnected``)."""
        return self._end_reason

    @property
    def bytes_received(self) -> int:
        """RTP bytes received from this participant so far, audio and video (labkit)."""
        if self._link is None:
            return self._final_bytes
        return sum(counter.bytes for counter in self._counters().values())

    def _counters(self) -> Mapping[str, RtpReceiveCounter]:
        return self._link.received if self._link is not None else {}

    def audio_level_dbfs(self) -> float:
        """Level of the audio received from this participant over the last 200 ms (labkit)."""
        return self._audio.level_dbfs() if self._audio else -100.0

    async def wait_for_state(self, state: RemoteParticipantState | str, timeout: float = 10.0) -> None:
        wanted = RemoteParticipantState(state)
        await self._wait_until("state_changed", lambda: self._state is wanted, f"{self} reaching {wanted}", timeout)

    # --- engine side ----------------------------------------------------------------------

    def bind_link(self, link: MediaLink) -> None:
        """The media path this participant's audio and video arrive on (the call sets it)."""
        self._link = link

    def update(self, wire: Participant) -> None:
        if wire.display_name and wire.display_name != self._display_name:
            previous, self._display_name = self._display_name, wire.display_name
            self.emit("display_name_changed", ValueChanged(wire.display_name, previous))
        if wire.is_muted != self._is_muted:
            self._is_muted = wire.is_muted
            self.emit("is_muted_changed", ValueChanged(wire.is_muted, not wire.is_muted))
        self._is_on_hold = wire.is_on_hold
        self._is_recording = wire.is_recording
        self._apply_state(wire)

    def _apply_state(self, wire: Participant) -> None:
        state = wire.state
        if state is RemoteParticipantState.CONNECTED and wire.is_on_hold:
            state = RemoteParticipantState.HOLD
        self._set_state(state)
        self._video.set_available(wire.is_video_on and not wire.is_on_hold and self._is_connected())

    def _is_connected(self) -> bool:
        return self._state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD)

    def _set_state(self, state: RemoteParticipantState) -> None:
        if state is not self._state:
            previous, self._state = self._state, state
            self.emit("state_changed", ValueChanged(state, previous))

    def attach_track(
        self,
        track: MediaStreamTrack,
        speaker: Callable[[], Speaker],
        audio_taps: list[Callable[[str, AudioFrame], None]] | None = None,
    ) -> None:
        """Consume a remote track: video into the stream, audio into the current speaker."""
        if track.kind == "video":
            self._video.attach(track)
        else:
            self._audio = AudioSink(track, f"labkit-audio {self.user_id}", self.user_id, speaker, audio_taps)

    def refresh_speaking(self) -> None:
        speaking = not self._is_muted and self.audio_level_dbfs() > SPEAKING_THRESHOLD_DBFS
        if speaking != self._is_speaking:
            self._is_speaking = speaking
            self.emit("is_speaking_changed", ValueChanged(speaking, not speaking))

    async def leave(self, reason: CallEndReason) -> None:
        self._end_reason = reason
        self._final_bytes = self.bytes_received
        self._link = None  # a participant kept by the user must not keep the peer connection alive
        await self._video.close()
        if self._audio is not None:
            await self._audio.stop()
        if self._is_speaking:
            self._is_speaking = False
            self.emit("is_speaking_changed", ValueChanged(False, True))
        self._set_state(RemoteParticipantState.DISCONNECTED)
        self.emit("video_streams_updated", CollectionUpdated(removed=(self._video,)))

    def __repr__(self) -> str:
        return f"RemoteParticipant({self._display_name or self.user_id!r}, {self._state.value})"
