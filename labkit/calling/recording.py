"""Recording a call to a webm file. ACS: ``call.feature(Features.Recording)``.

ACS records on its servers and tells every participant with ``isRecordingActive`` and
``isRecordingActiveChanged``. labkit records on the agent that asks, with
``start(path)``: every remote participant's video and audio as received, and this
agent's own camera and microphone as sent, in one grid with the audio mixed. The others
are told as in ACS, so ``is_recording_active`` is True for everyone in the call while
anyone records, and ``RemoteParticipant.is_recording`` says who.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from av import AudioFrame

from ..errors import ErrorCode, LabkitError
from ..media.compositor import Tile
from ..media.webm_recorder import WebmRecorder
from ..states import CallState, RemoteParticipantState
from .event_emitter import Emitter, ValueChanged
from .features import Features, register_feature

if TYPE_CHECKING:
    from .call import Call

_RECORDABLE = (CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD)
LOCAL_SOURCE = "local"
"""The recorder's name for this agent's own microphone."""


RecordingEventName = Literal["is_recording_active_changed"]
"""The events of ``RecordingCallFeature``."""


class RecordingCallFeature(Emitter[RecordingEventName]):
    """``call.feature(Features.RECORDING)``: whether anyone records the call, and recording it here."""

    def __init__(self, call: Call) -> None:
        super().__init__(call.media.dispatcher)
        self.call = call
        self._media = call.media
        self._recorder: WebmRecorder | None = None
        self._active = self._anyone_recording()

    @property
    def is_recording_active(self) -> bool:
        """Someone in the call (this agent or another) is recording it. ACS: ``isRecordingActive``."""
        return self._active

    @property
    def is_recording_here(self) -> bool:
        """This agent is recording the call (labkit)."""
        return self._recorder is not None

    @property
    def recorder(self) -> WebmRecorder | None:
        """The running recorder (frames and seconds written so far), if this agent records."""
        return self._recorder

    async def start(self, path: str | Path, width: int = 640, height: int = 480, fps: float = 15.0) -> Path:
        """Record the call to ``path`` (webm: VP8 and Opus) until ``stop()`` or the call ends (labkit)."""
        self._dispatcher.bind()
        if self.call.state is CallState.DISCONNECTED:
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, "The call has ended; there is nothing to record.")
        return await self._media.engine.run(self._start(Path(path), width, height, fps))

    async def stop(self) -> Path:
        """Stop recording; the file is complete when this returns. Returns its path (labkit).

        Raises ``recording-failed`` if writing failed meanwhile (a full disk, say).
        """
        self._dispatcher.bind()
        return await self._media.engine.run(self._stop())

    async def dispose(self) -> None:
        if self._recorder is not None:
            await self.stop()

    # --- engine side ----------------------------------------------------------------------

    async def _start(self, path: Path, width: int, height: int, fps: float) -> Path:
        call = self.call
        if self._recorder is not None:
            raise LabkitError(
                ErrorCode.ALREADY_RECORDING,
                f"This call is already being recorded to {self._recorder.path}.",
                "Call stop() first to record to another file.",
            )
        if call.state not in _RECORDABLE:
            raise LabkitError(
                ErrorCode.NOT_IN_CALL,
                f"Only a connected call can be recorded; this one is {call.state.value}.",
                "Start recording once the call's state is Connected.",
            )
        self._recorder = WebmRecorder(path, self._tiles, width, height, fps)
        self._media.add_audio_tap(self._on_remote_audio)
        if self._media.audio_feed is not None:
            self._media.audio_feed.taps.append(self._on_local_audio)
        await self._media.announce_recording(True)
        self._refresh()
        return path

    async def _stop(self) -> Path:
        recorder = self._detach()
        if recorder is None:
            raise LabkitError(
                ErrorCode.NOT_RECORDING, "This call is not being recorded here.", "Call start(path) first."
            )
        path = await asyncio.to_thread(recorder.stop)
        if self.call.state is not CallState.DISCONNECTED:
            await self._media.announce_recording(False)
        self._refresh()
        if recorder.error is not None:
            raise LabkitError(
                ErrorCode.RECORDING_FAILED,
                f"The recording to {path} stopped early: {recorder.error}.",
                "Check that the disk has room and the folder is writable. The call was not affected.",
            )
        return path

    def _detach(self) -> WebmRecorder | None:
        recorder, self._recorder = self._recorder, None
        self._media.remove_audio_tap(self._on_remote_audio)
        feed = self._media.audio_feed
        if feed is not None and self._on_local_audio in feed.taps:
            feed.taps.remove(self._on_local_audio)
        return recorder

    def on_call_ended(self) -> None:
        """The call ended: finish the file (CallFeature hook)."""
        recorder = self._detach()
        if recorder is not None:
            recorder.stop()  # finishes the file: a moment's encoder flush
        self._refresh()

    def on_participants_changed(self) -> None:
        """Someone started or stopped recording, or left (CallFeature hook)."""
        self._refresh()

    def _refresh(self) -> None:
        active = self._anyone_recording()
        if active != self._active:
            self._active = active
            self.emit("is_recording_active_changed", ValueChanged(active, not active))

    def _anyone_recording(self) -> bool:
        if self._recorder is not None:
            return True
        if self.call.state is CallState.DISCONNECTED:
            return False
        return any(p.is_recording for p in self.call.remote_participants)

    def _on_remote_audio(self, source: str, frame: AudioFrame) -> None:
        if self._recorder is not None:
            self._recorder.add_audio(source, frame)

    def _on_local_audio(self, frame: AudioFrame) -> None:
        if self._recorder is not None:
            self._recorder.add_audio(LOCAL_SOURCE, frame)

    def _tiles(self) -> list[Tile]:
        """What the recording shows (called on the recorder's thread)."""
        call, media = self.call, self._media
        tiles = []
        for participant in media.participants.values():
            if participant.state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD):
                stream = participant.video_streams[0]
                frame = stream.latest_frame() if stream.is_available else None
                tiles.append(Tile(participant.display_name or participant.user_id, frame))
        feed = media.video_feed
        own = feed.latest if feed is not None and call.is_local_video_started and not call.is_on_hold else None
        tiles.append(Tile(f"{media.local_name} (you)", own))
        return tiles


register_feature(Features.RECORDING, RecordingCallFeature)
