"""Cameras, microphones and speakers. ACS: ``DeviceManager``."""

from __future__ import annotations

import itertools
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiortc import MediaStreamTrack

from ..errors import ErrorCode, LabkitError
from ..media import devices
from ..media.devices import AudioDeviceInfo, Camera, Microphone, SpeakerDevice, VideoDeviceInfo
from ..media.engine import MediaEngine
from ..media.page_devices import PageCamera, PageDevice, PageMicrophone, PageSpeakerDevice
from ..media.page_link import PageEvent, PageLink
from ..media.sinks import LevelSink
from ..media.speaker import Speaker
from .event_emitter import CollectionUpdated, Emitter, EventDispatcher, ValueChanged

TONE_FREQUENCIES = (440.0, 554.37, 659.25, 783.99, 880.0, 987.77, 1108.73, 1318.51)
"""One per device manager in turn, so that every agent's tone microphone sounds different."""
ACCENTS: tuple[tuple[int, int, int], ...] = (
    (33, 150, 243),
    (233, 30, 99),
    (76, 175, 80),
    (255, 152, 0),
    (156, 39, 176),
    (0, 188, 212),
    (121, 85, 72),
    (96, 125, 139),
)
"""The synthetic cameras' accent colours, one per call client in turn (as the tones)."""
_next_tone = itertools.count()
_managers: weakref.WeakValueDictionary[str, DeviceManager] = weakref.WeakValueDictionary()


@dataclass(frozen=True, slots=True)
class DeviceAccess:
    """What ``ask_device_permission`` was granted. ACS: ``DeviceAccess``."""

    audio: bool
    video: bool


DeviceManagerEventName = Literal[
    "video_devices_updated", "audio_devices_updated", "selected_microphone_changed", "selected_speaker_changed"
]
"""The events of ``DeviceManager``."""


class DeviceManager(Emitter[DeviceManagerEventName]):
    """The devices a ``CallClient`` can use, and the microphone and speaker it uses now.

    Events: ``video_devices_updated`` and ``audio_devices_updated`` (``CollectionUpdated``
    of device infos), ``selected_microphone_changed`` and ``selected_speaker_changed``.
    """

    def __init__(self, engine: MediaEngine, dispatcher: EventDispatcher) -> None:
        super().__init__(dispatcher)
        self._engine = engine
        self.tag = uuid.uuid4().hex[:8]
        _managers[self.tag] = self
        index = next(_next_tone)
        self.tone_frequency = TONE_FREQUENCIES[index % len(TONE_FREQUENCIES)]
        self.accent = ACCENTS[index % len(ACCENTS)]
        """This client's colour on its synthetic cameras (labkit): each person's video looks their own."""
        self._synthetic = [
            devices.SyntheticCamera(n, "", pattern, self.accent) for n, pattern in ((1, "bars"), (2, "checker"))
        ]
        self._cameras: dict[str, Camera] = {}
        for camera in [*self._synthetic, *devices.hardware_cameras()]:
            self._add_camera(camera)
        self._microphones: dict[str, Microphone] = {}
        for microphone in (devices.ToneMicrophone(self.tone_frequency), devices.SilentMicrophone()):
            self._add_microphone(microphone)
        self._speakers: dict[str, SpeakerDevice] = {}
        for speaker in (devices.level_speaker(), devices.null_speaker()):
            self._add_speaker(speaker)
        self._selected_microphone = next(iter(self._microphones.values())).info
        self._selected_speaker = next(iter(self._speakers.values())).info
        self._no_speaker = devices.null_speaker().speaker  # where audio goes once every speaker is gone
        self._page: PageLink | None = None

    # --- ACS surface ----------------------------------------------------------------------

    async def get_cameras(self) -> list[VideoDeviceInfo]:
        """ACS: ``getCameras``."""
        return [camera.info for camera in self._cameras.values()]

    async def get_microphones(self) -> list[AudioDeviceInfo]:
        """ACS: ``getMicrophones``."""
        return [microphone.info for microphone in self._microphones.values()]

    async def get_speakers(self) -> list[AudioDeviceInfo]:
        """ACS: ``getSpeakers``."""
        return [speaker.info for speaker in self._speakers.values()]

    @property
    def selected_microphone(self) -> AudioDeviceInfo:
        return self._selected_microphone

    @property
    def selected_speaker(self) -> AudioDeviceInfo:
        return self._selected_speaker

    async def select_microphone(self, microphone: AudioDeviceInfo) -> None:
        """Use ``microphone`` from now on, also in calls already running. ACS: ``selectMicrophone``."""
        self._microphone_device(microphone.id)
        previous, self._selected_microphone = self._selected_microphone, microphone
        if previous != microphone:
            self.emit("selected_microphone_changed", ValueChanged(microphone, previous))

    async def select_speaker(self, speaker: AudioDeviceInfo) -> None:
        """Play remote audio on ``speaker`` from now on. ACS: ``selectSpeaker``."""
        device = self._speaker_device(speaker.id)
        self._engine.call_soon(device.selected)
        previous, self._selected_speaker = self._selected_speaker, speaker
        if previous != speaker:
            self.emit("selected_speaker_changed", ValueChanged(speaker, previous))

    async def ask_device_permission(self, audio: bool = True, video: bool = True) -> DeviceAccess:
        """Ask for the devices; what was granted. ACS: ``askDevicePermission``.

        With a notebook page attached (``BrowserMedia``), this is the browser's own prompt,
        and the page's devices are listed once granted. Without one (a headless kernel),
        kernel-side devices need no permission: granted where such devices exist.
        """
        page = self._page
        if page is not None and page.attached:
            granted = await self._engine.run(page.ask_permission(audio, video))
            return DeviceAccess(audio=granted["audio"], video=granted["video"])
        return DeviceAccess(audio=audio and bool(self._microphones), video=video and bool(self._cameras))

    # --- the notebook page's devices (the browser bridge) ---------------------------------

    @property
    def page(self) -> PageLink | None:
        """The browser bridge whose page devices are listed here, if one is attached (labkit)."""
        return self._page

    def attach_page(self, page: PageLink) -> None:
        """List the page's cameras, microphones and speakers as devices of this manager (labkit)."""
        self._page = page
        page.listeners.append(self._on_page_event)
        self._engine.call_soon(self._sync_page_devices)

    def detach_page(self) -> None:
        page, self._page = self._page, None
        if page is not None and self._on_page_event in page.listeners:
            page.listeners.remove(self._on_page_event)
        self._engine.call_soon(self._sync_page_devices)

    def permission_denied(self, kind: str) -> bool:
        """The page's browser refused ``kind`` ("audio" or "video") (labkit; for diagnostics)."""
        return self._page is not None and self._page.permission.get(kind) is False

    # --- labkit additions -----------------------------------------------------------------

    def add_file_camera(self, path: str | Path, name: str | None = None, *, loop: bool = True) -> VideoDeviceInfo:
        """A video file (anything PyAV reads) as a camera that loops (or plays once, ``loop=False``)."""
        camera = devices.file_camera(path, name, loop=loop)
        self._add_camera(camera)  # gives the id this manager's tag
        self.emit("video_devices_updated", CollectionUpdated(added=(camera.info,)))
        return camera.info

    def add_file_microphone(self, path: str | Path, name: str | None = None, *, loop: bool = True) -> AudioDeviceInfo:
        """An audio file (anything PyAV reads) as a microphone that loops (or plays once, ``loop=False``)."""
        microphone = devices.file_microphone(path, name, loop=loop)
        self._add_microphone(microphone)
        self.emit("audio_devices_updated", CollectionUpdated(added=(microphone.info,)))
        return microphone.info

    def remove_device(self, device: VideoDeviceInfo | AudioDeviceInfo) -> None:
        """Forget a device, as if it were unplugged (labkit). Calls using it keep what they opened."""
        if isinstance(device, VideoDeviceInfo) and device.id in self._cameras:
            del self._cameras[device.id]
            self.emit("video_devices_updated", CollectionUpdated(removed=(device,)))
        elif isinstance(device, AudioDeviceInfo) and device.id in self._microphones:
            del self._microphones[device.id]
            self.emit("audio_devices_updated", CollectionUpdated(removed=(device,)))
        elif isinstance(device, AudioDeviceInfo) and device.id in self._speakers:
            del self._speakers[device.id]
            self.emit("audio_devices_updated", CollectionUpdated(removed=(device,)))

    @property
    def has_microphones(self) -> bool:
        return bool(self._microphones)

    @property
    def has_speakers(self) -> bool:
        return bool(self._speakers)

    async def open_microphone_meter(self) -> MicrophoneMeter:
        """A level meter on the selected microphone, for a device picker (labkit). ``close()`` it after."""

        async def start() -> MicrophoneMeter:
            return MicrophoneMeter(self.open_microphone())

        return await self._engine.run(start())

    def speaker_output(self, speaker: AudioDeviceInfo | None = None) -> Speaker:
        """The ``Speaker`` behind ``speaker`` (default: the selected one): its level, its recording."""
        if speaker is not None:
            return self._speaker_device(speaker.id).speaker
        device = self._speakers.get(self._selected_speaker.id) or next(iter(self._speakers.values()), None)
        return device.speaker if device is not None else self._no_speaker

    # --- for the calling layer ------------------------------------------------------------

    def set_owner(self, name: str) -> None:
        """Label the synthetic cameras with the agent's display name."""
        for camera in self._synthetic:
            camera.owner = name

    def open_microphone(self) -> MediaStreamTrack | None:
        """A track of the selected microphone (or, if it was removed, of the first left; ``None`` if none)."""
        microphone = self._microphones.get(self._selected_microphone.id) or next(iter(self._microphones.values()), None)
        return microphone.open() if microphone is not None else None

    def camera(self, camera_id: str) -> Camera:
        camera = self._cameras.get(camera_id)
        if camera is None:
            raise LabkitError(
                ErrorCode.INVALID_MESSAGE,
                f"No camera {camera_id!r} in this device manager.",
                "Pick one from await device_manager.get_cameras().",
            )
        return camera

    @property
    def engine(self) -> MediaEngine:
        return self._engine

    def _on_page_event(self, event: PageEvent) -> None:
        if event in (PageEvent.DEVICES, PageEvent.ATTACHED):
            self._sync_page_devices()

    def _sync_page_devices(self) -> None:
        """Make the page devices listed here match the page's (engine thread)."""
        page = self._page
        found = page.devices if page is not None else ()

        def listed(kind: str) -> list[tuple[int, PageDevice]]:
            return list(enumerate((d for d in found if d.kind == kind), start=1))

        cameras = [PageCamera(page, d, n) for n, d in listed("videoinput")] if page else []
        microphones = [PageMicrophone(page, d, n) for n, d in listed("audioinput")] if page else []
        speakers = [PageSpeakerDevice(page, d, n) for n, d in listed("audiooutput")] if page else []
        video_added, video_removed = self._replace(self._cameras, PageCamera, cameras)
        audio_added, audio_removed = self._replace(self._microphones, PageMicrophone, microphones)
        speaker_added, speaker_removed = self._replace(self._speakers, PageSpeakerDevice, speakers)
        if video_added or video_removed:
            self.emit("video_devices_updated", CollectionUpdated(added=video_added, removed=video_removed))
        if audio_added or audio_removed or speaker_added or speaker_removed:
            self.emit(
                "audio_devices_updated",
                CollectionUpdated(added=audio_added + speaker_added, removed=audio_removed + speaker_removed),
            )

    def _replace(
        self, table: dict[str, Any], family: type[Any], fresh: list[Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Put ``fresh`` in place of the ``family`` devices of ``table``; the infos added and removed."""
        before = {key: device for key, device in table.items() if isinstance(device, family)}
        for key in before:
            del table[key]
        for device in fresh:
            if isinstance(device, Camera):
                self._add_camera(device)
            else:
                table[device.info.id] = device
        after = {key: device for key, device in table.items() if isinstance(device, family)}
        added = tuple(d.info for k, d in after.items() if k not in before)
        removed = tuple(d.info for k, d in before.items() if k not in after)
        return added, removed

    def _add_camera(self, camera: Camera) -> None:
        if not camera.info.id.endswith(self.tag):
            camera.info = VideoDeviceInfo(
                f"{camera.info.id}:{self.tag}", camera.info.name, camera.info.device_type, camera.info.camera_facing
            )
        self._cameras[camera.info.id] = camera

    def _add_microphone(self, microphone: Microphone) -> None:
        self._microphones[microphone.info.id] = microphone

    def _add_speaker(self, speaker: SpeakerDevice) -> None:
        self._speakers[speaker.info.id] = speaker

    def _microphone_device(self, device_id: str) -> Microphone:
        try:
            return self._microphones[device_id]
        except KeyError:
            raise LabkitError(
                ErrorCode.INVALID_MESSAGE,
                f"No microphone {device_id!r}.",
                "Pick one from await device_manager.get_microphones().",
            ) from None

    def _speaker_device(self, device_id: str) -> SpeakerDevice:
        try:
            return self._speakers[device_id]
        except KeyError:
            raise LabkitError(
                ErrorCode.INVALID_MESSAGE,
                f"No speaker {device_id!r}.",
                "Pick one from await device_manager.get_speakers().",
            ) from None


def manager_of(camera: VideoDeviceInfo) -> DeviceManager:
    """The device manager that listed ``camera``."""
    tag = camera.id.rsplit(":", 1)[-1]
    manager = _managers.get(tag)
    if manager is None:
        raise LabkitError(
            ErrorCode.INVALID_MESSAGE,
            f"{camera.name!r} does not come from a live device manager.",
            "Get cameras from await call_client.get_device_manager() and then get_cameras().",
        )
    return manager


class MicrophoneMeter:
    """The level of one open microphone, measured on the engine thread."""

    def __init__(self, track: MediaStreamTrack | None) -> None:
        self._track = track
        self._sink = LevelSink(track, "labkit-microphone-meter") if track is not None else None

    def level_dbfs(self) -> float:
        return self._sink.level_dbfs() if self._sink is not None else -100.0

    async def close(self, engine: MediaEngine) -> None:
        sink, track = self._sink, self._track

        async def stop() -> None:
            if sink is not None:
                await sink.stop()
            if track is not None:
                track.stop()

        await engine.run(stop())
