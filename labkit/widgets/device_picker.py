"""Device pickers: camera, microphone and speaker, a mirrored preview and a microphone level meter."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ipywidgets as widgets

from ..calling import Call, DeviceManager, LocalVideoStream, VideoStreamRenderer
from .browser_media import BrowserMedia, BrowserVideo
from .error_bar import ErrorBar
from .frame_pump import Feed, FramePump

PREVIEW = (320, 240)


class DevicePicker(widgets.VBox):
    """ACS guide: device selection. Choosing a device during a call switches it in the call.

    Call ``await picker.start()`` to open the preview and the meter, and ``await picker.dispose()``
    to release the camera and microphone. With a ``bridge`` whose page is attached, the preview
    is a native ``<video>``.
    """

    def __init__(
        self, device_manager: DeviceManager, call: Call | None = None, bridge: BrowserMedia | None = None, **kwargs: Any
    ) -> None:
        self.devices = device_manager
        self.call = call
        self.bridge = bridge
        self._bridge_preview: BrowserVideo | None = None
        self.camera = widgets.Dropdown(description="Camera")
        self.microphone = widgets.Dropdown(description="Microphone")
        self.speaker = widgets.Dropdown(description="Speaker")
        self.preview = widgets.Image(format="jpeg", layout={"width": f"{PREVIEW[0]}px", "height": f"{PREVIEW[1]}px"})
        self.level = widgets.FloatProgress(min=-60.0, max=0.0, value=-60.0, description="Mic level")
        self.errors = ErrorBar()
        self.pump = FramePump(fps=15)
        self.stream: LocalVideoStream | None = None
        self._renderer: VideoStreamRenderer | None = None
        self._meter: Any = None
        self._meter_task: asyncio.Task[None] | None = None
        self._updating = False
        self._paused = False
        super().__init__([self.camera, self.microphone, self.speaker, self.preview, self.level, self.errors], **kwargs)
        device_manager.on("video_devices_updated", lambda _: self.errors.run(self.refresh()))
        device_manager.on("audio_devices_updated", lambda _: self.errors.run(self.refresh()))
        self.camera.observe(lambda change: self.errors.run(self._camera_chosen(change["new"])), "value")
        self.microphone.observe(lambda change: self.errors.run(self._microphone_chosen(change["new"])), "value")
        self.speaker.observe(lambda change: self.errors.run(self._speaker_chosen(change["new"])), "value")
        if bridge is not None:
            bridge.observe(lambda _: self._use_bridge_preview(), "attached")

    def _use_bridge_preview(self) -> None:
        if self.bridge is None or not self.bridge.attached or self.stream is None or self._bridge_preview is not None:
            return
        self._bridge_preview = self.bridge.video(self.stream, mirrored=True)
        self.pump.remove(self.preview)
        self.children = tuple(self._bridge_preview if c is self.preview else c for c in self.children)  # type: ignore[has-type]

    async def start(self) -> DevicePicker:
        await self.refresh()
        await self._open_preview()
        await self._open_meter()
        return self

    @property
    def is_paused(self) -> bool:
        """The preview and the meter are stopped (``pause()``), releasing the camera and microphone."""
        return self._paused

    async def pause(self) -> None:
        """Stop the preview and the meter while nobody sees them (the app's call and end pages)."""
        if self._paused:
            return
        self._paused = True
        self.pump.stop()
        if self._meter_task is not None:
            self._meter_task.cancel()
            self._meter_task = None
        if self._meter is not None:
            await self._meter.close(self.devices.engine)
            self._meter = None
        if self._renderer is not None:
            await self._renderer.dispose()  # the camera stops unless a call still sends it
            self._renderer = None

    async def resume(self) -> None:
        """Show the preview and the meter again, on the same camera and microphone."""
        if not self._paused:
            return
        self._paused = False
        if self.stream is not None and self._bridge_preview is None:
            self.pump.remove(self.preview)
            self._renderer = VideoStreamRenderer(self.stream)
            await self._renderer.create_view(is_mirrored=True)
            self.pump.add(Feed(self.preview, self._renderer.latest_frame, *PREVIEW, is_mirrored=True))
        await self._open_meter()

    async def refresh(self) -> None:
        """Re-read the device lists (on ``video_devices_updated`` and ``audio_devices_updated``)."""
        self._updating = True
        try:
            self.camera.options = [(c.name, c.id) for c in await self.devices.get_cameras()]
            self.microphone.options = [(m.name, m.id) for m in await self.devices.get_microphones()]
            self.speaker.options = [(s.name, s.id) for s in await self.devices.get_speakers()]
            self.microphone.value = _choose(self.microphone, self.devices.selected_microphone.id)
            self.speaker.value = _choose(self.speaker, self.devices.selected_speaker.id)
            # ipywidgets 8 leaves a Dropdown blank (value None) until a value is set: show the camera in use
            self.camera.value = _choose(self.camera, self._camera_in_use())
        finally:
            self._updating = False

    def _camera_in_use(self) -> str:
        """The preview's camera, else the call's, else none (the first is shown)."""
        if self.stream is not None:
            return self.stream.source.id
        if self.call is not None and self.call.local_video_streams:
            return self.call.local_video_streams[0].source.id
        return ""

    async def dispose(self) -> None:
        self.pump.stop()
        if self._bridge_preview is not None:
            await self._bridge_preview.dispose()
        if self._meter_task is not None:
            self._meter_task.cancel()
        if self._meter is not None:
            await self._meter.close(self.devices.engine)
        if self._renderer is not None:
            await self._renderer.dispose()

    async def _open_preview(self) -> None:
        cameras = await self.devices.get_cameras()
        if not cameras:
            return
        chosen = next((c for c in cameras if c.id == self.camera.value), cameras[0])
        self.stream = LocalVideoStream(chosen)
        self._renderer = VideoStreamRenderer(self.stream)
        await self._renderer.create_view(is_mirrored=True)
        self.pump.add(Feed(self.preview, self._renderer.latest_frame, *PREVIEW, is_mirrored=True))
        self._use_bridge_preview()

    async def _open_meter(self) -> None:
        if self._meter is not None:
            await self._meter.close(self.devices.engine)
        self._meter = await self.devices.open_microphone_meter()
        if self._meter_task is None:
            with contextlib.suppress(RuntimeError):
                self._meter_task = asyncio.get_event_loop().create_task(self._show_level())

    async def _show_level(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if self._meter is not None:
                self.level.value = max(-60.0, min(0.0, self._meter.level_dbfs()))

    async def _camera_chosen(self, camera_id: str | None) -> None:
        if self._updating or camera_id is None:
            return
        camera = next(c for c in await self.devices.get_cameras() if c.id == camera_id)
        if self.stream is not None:
            await self.stream.switch_source(camera)  # the preview
        if self.call is not None and self.call.local_video_streams:
            call_stream = self.call.local_video_streams[0]
            if call_stream is not self.stream:
                await call_stream.switch_source(camera)  # and the call

    async def _microphone_chosen(self, microphone_id: str | None) -> None:
        if self._updating or microphone_id is None:
            return
        microphone = next(m for m in await self.devices.get_microphones() if m.id == microphone_id)
        await self.devices.select_microphone(microphone)  # calls switch too
        await self._open_meter()

    async def _speaker_chosen(self, speaker_id: str | None) -> None:
        if self._updating or speaker_id is None:
            return
        speaker = next(s for s in await self.devices.get_speakers() if s.id == speaker_id)
        await self.devices.select_speaker(speaker)


def _choose(dropdown: widgets.Dropdown, wanted: str) -> str | None:
    values = [value for _, value in dropdown.options]
    return wanted if wanted in values else (values[0] if values else None)
