"""Call controls: mute, video, switch camera, hold, record and hang up, always showing the call's real state."""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from ..calling import Call, CallState, Features, LocalVideoStream, RecordingCallFeature
from .error_bar import ErrorBar

_LIVE = (CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD)


class CallControls(widgets.VBox):
    """ACS guide: ``toggleMute``, ``toggleVideo``, ``switchCamera``, ``toggleHold``, ``hangUp``.

    Every button follows the call's events, including changes made from code in another cell.
    **Record** writes the call to ``recordings/call-<time>.webm`` (``Features.RECORDING``),
    and the status line says while anyone in the call records it.
    """

    state = traitlets.Unicode("")
    duration = traitlets.Float(0.0)
    """Seconds since the call connected."""

    def __init__(self, call: Call, recordings: str | Path = "recordings", **kwargs: Any) -> None:
        self.call = call
        self.recordings = Path(recordings)
        """The folder the Record button writes to."""
        self.recording: RecordingCallFeature = call.feature(Features.RECORDING)
        self.last_recording: Path | None = None
        self.mute_button = widgets.ToggleButton(description="Mute", icon="microphone-slash")
        # pressed means "off", as for Mute: a pressed "Stop video" read as "video stopped" while it was on
        self.video_button = widgets.ToggleButton(description="Stop video", icon="video-camera")
        self.switch_button = widgets.Button(description="Switch camera", icon="refresh")
        self.hold_button = widgets.ToggleButton(description="Hold", icon="pause")
        self.record_button = widgets.ToggleButton(description="Record", icon="circle")
        self.hang_up_button = widgets.Button(description="Hang up", icon="phone", button_style="danger")
        self.status = widgets.HTML()
        self.errors = ErrorBar()
        self._connected_at: float | None = None
        self._syncing = False
        self.mute_button.observe(self._on_mute, "value")
        self.video_button.observe(self._on_video, "value")
        self.hold_button.observe(self._on_hold, "value")
        self.record_button.observe(self._on_record, "value")
        self.switch_button.on_click(lambda _: self.errors.run(self.switch_camera()))
        self.hang_up_button.on_click(lambda _: self.errors.run(call.hang_up()))
        buttons = [
            self.mute_button,
            self.video_button,
            self.switch_button,
            self.hold_button,
            self.record_button,
            self.hang_up_button,
        ]
        for button in buttons:
            button.layout.width = "auto"  # room for the whole label,
            button.layout.flex = "0 0 auto"  # never squeezed to "..."
        row = widgets.HBox(buttons, layout={"flex_flow": "row wrap"})  # a narrow column wraps the buttons instead
        super().__init__([self.status, row, self.errors], **kwargs)
        for event in ("state_changed", "is_muted_changed", "local_video_streams_updated"):
            call.on(event, lambda _: self.refresh())
        self.recording.on("is_recording_active_changed", lambda _: self.refresh())
        self._ticker: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):
            self._ticker = asyncio.get_event_loop().create_task(self._tick())
        self.refresh()

    async def switch_camera(self) -> None:
        """Show the next camera (ACS guide: ``switchCamera``)."""
        streams = self.call.local_video_streams
        if not streams:
            return
        cameras = await self.call.device_manager.get_cameras()
        current = streams[0].source
        following = [c for c in cameras if c.id != current.id]
        if following:
            await streams[0].switch_source(following[0])

    def refresh(self) -> None:
        """Make every control show the call as it is now."""
        call = self.call
        self._syncing = True
        try:
            self.state = call.state.value
            live = call.state in _LIVE
            if call.state is CallState.CONNECTED and self._connected_at is None:
                self._connected_at = time.monotonic()
            self.mute_button.value = call.is_muted
            self.mute_button.description = "Unmute" if call.is_muted else "Mute"
            self.video_button.value = not call.is_local_video_started
            self.video_button.description = "Stop video" if call.is_local_video_started else "Start video"
            self.hold_button.value = call.is_on_hold
            self.hold_button.description = "Resume" if call.is_on_hold else "Hold"
            self.record_button.value = self.recording.is_recording_here
            self.record_button.description = "Stop recording" if self.recording.is_recording_here else "Record"
            for control in (self.mute_button, self.video_button, self.hold_button, self.hang_up_button):
                control.disabled = call.state is CallState.DISCONNECTED
            self.hold_button.disabled = not live
            self.record_button.disabled = not live
            self.switch_button.disabled = not (live and call.is_local_video_started)
            self._render_status()
        finally:
            self._syncing = False

    def _render_status(self) -> None:
        if self._connected_at is not None and self.call.state is not CallState.DISCONNECTED:
            self.duration = time.monotonic() - self._connected_at
        minutes, seconds = divmod(int(self.duration), 60)
        reason = self.call.call_end_reason
        # the end reason's message names the remote participant: text from someone else, never markup
        ended = html.escape(f" ({reason.code}/{reason.sub_code}: {reason.message})") if reason else ""
        recording = ""
        if self.recording.is_recording_active:
            who = [p.display_name or p.user_id for p in self.call.remote_participants if p.is_recording]
            if self.recording.is_recording_here:
                who.insert(0, "you")
            recording = f' <span style="color:#c62828">● recording ({html.escape(", ".join(who))})</span>'
        elif self.last_recording is not None:
            recording = f" <small>saved {html.escape(str(self.last_recording))}</small>"
        self.status.value = f"<b>{html.escape(self.state)}</b> {minutes:02d}:{seconds:02d}{ended}{recording}"

    async def _tick(self) -> None:
        while self.call.state is not CallState.DISCONNECTED:
            await asyncio.sleep(1.0)
            self._render_status()
        self.refresh()

    def _on_mute(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] != self.call.is_muted:
            self.errors.run(self.call.mute() if change["new"] else self.call.unmute())

    def _on_video(self, change: dict[str, Any]) -> None:
        """Pressed (``True``) is video off, as a pressed Mute is sound off."""
        video_on = not change["new"]
        if self._syncing or video_on == self.call.is_local_video_started:
            return
        self.errors.run(self._start_video() if video_on else self.call.stop_video())

    async def _start_video(self) -> None:
        cameras = await self.call.device_manager.get_cameras()
        await self.call.start_video(LocalVideoStream(cameras[0]))

    def _on_record(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] == self.recording.is_recording_here:
            return
        self.record_button.description = "Starting…" if change["new"] else "Saving…"
        self.errors.run(self.start_recording() if change["new"] else self.stop_recording())

    async def start_recording(self) -> Path:
        """Record the call to a new file in ``recordings``."""
        self.recordings.mkdir(parents=True, exist_ok=True)
        path = self.recordings / time.strftime("call-%Y%m%d-%H%M%S.webm")
        try:
            return await self.recording.start(path)
        finally:
            self.refresh()

    async def stop_recording(self) -> Path:
        try:
            self.last_recording = await self.recording.stop()
            return self.last_recording
        finally:
            self.refresh()

    def _on_hold(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] != self.call.is_on_hold:
            # at once, before the renegotiation is done: the press shows (the state follows with its event)
            self.hold_button.description = "Holding…" if change["new"] else "Resuming…"
            self.errors.run(self._hold_or_resume(change["new"]))

    async def _hold_or_resume(self, hold: bool) -> None:
        try:
            await (self.call.hold() if hold else self.call.resume())
        finally:
            self.refresh()
