"""Devices: what they are called (ACS ``VideoDeviceInfo``, ``AudioDeviceInfo``) and how they open.

Every agent always has two synthetic cameras that look different, a tone microphone whose
frequency differs per agent, a silent microphone, a level-metering speaker and a null
speaker. Any file PyAV can open can be added as a camera or microphone, and V4L2 cameras
(``/dev/video*``) are listed where the machine has them.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aiortc import MediaStreamTrack

from .file_track import FileTrack, probe
from .microphones import SilentMicrophoneTrack, ToneMicrophoneTrack
from .speaker import NullSpeaker, Speaker
from .synthetic_camera import SyntheticCameraTrack


class VideoDeviceType(StrEnum):
    """ACS: ``VideoDeviceType``."""

    UNKNOWN = "Unknown"
    USB_CAMERA = "UsbCamera"
    CAPTURE_ADAPTER = "CaptureAdapter"
    VIRTUAL = "Virtual"


class AudioDeviceType(StrEnum):
    """ACS: ``AudioDeviceType``."""

    MICROPHONE = "Microphone"
    SPEAKER = "Speaker"


@dataclass(frozen=True, slots=True)
class VideoDeviceInfo:
    """A camera. ACS: ``VideoDeviceInfo``."""

    id: str
    name: str
    device_type: VideoDeviceType = VideoDeviceType.VIRTUAL
    camera_facing: str = "Unknown"


@dataclass(frozen=True, slots=True)
class AudioDeviceInfo:
    """A microphone or speaker. ACS: ``AudioDeviceInfo``."""

    id: str
    name: str
    device_type: AudioDeviceType
    is_system_default: bool = False


class Camera:
    """Opens a fresh video track of one camera."""

    def __init__(self, info: VideoDeviceInfo) -> None:
        self.info = info

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> MediaStreamTrack:
        raise NotImplementedError


class SyntheticCamera(Camera):
    """A moving test pattern (``bars`` or ``checker``) with the owner's name, a clock and a frame stamp."""

    def __init__(self, number: int, owner: str, pattern: str, accent: tuple[int, int, int] | None = None) -> None:
        super().__init__(VideoDeviceInfo(f"synthetic-camera-{number}", f"Synthetic camera {number} ({pattern})"))
        self.number, self.owner, self.pattern, self.accent = number, owner, pattern, accent

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> MediaStreamTrack:
        label = f"{self.owner} · camera {self.number}" if self.owner else f"camera {self.number}"
        return SyntheticCameraTrack(self.number, label, width, height, fps, self.pattern, self.accent)


class FileCamera(Camera):
    """A video file, looped, or a live capture device (``live=True``)."""

    def __init__(
        self, source: str, name: str, *, live: bool = False, av_format: str | None = None, loop: bool = True
    ) -> None:
        digest = hashlib.sha1(source.encode()).hexdigest()[:10]
        kind = VideoDeviceType.USB_CAMERA if live else VideoDeviceType.VIRTUAL
        super().__init__(VideoDeviceInfo(f"file-camera-{digest}", name, kind))
        self.source, self.live, self.av_format, self.loop = source, live, av_format, loop

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> MediaStreamTrack:
        return FileTrack(self.source, "video", live=self.live, av_format=self.av_format, loop=self.loop)


class Microphone:
    """Opens a fresh audio track of one microphone."""

    def __init__(self, info: AudioDeviceInfo) -> None:
        self.info = info

    def open(self) -> MediaStreamTrack:
        raise NotImplementedError


class ToneMicrophone(Microphone):
    def __init__(self, frequency: float) -> None:
        super().__init__(
            AudioDeviceInfo("tone-microphone", f"Tone microphone ({frequency:g} Hz)", AudioDeviceType.MICROPHONE, True)
        )
        self.frequency = frequency

    def open(self) -> MediaStreamTrack:
        return ToneMicrophoneTrack(self.frequency)


class SilentMicrophone(Microphone):
    def __init__(self) -> None:
        super().__init__(AudioDeviceInfo("silent-microphone", "Silent microphone", AudioDeviceType.MICROPHONE))

    def open(self) -> MediaStreamTrack:
        return SilentMicrophoneTrack()


class FileMicrophone(Microphone):
    def __init__(self, source: str, name: str, *, loop: bool = True) -> None:
        digest = hashlib.sha1(source.encode()).hexdigest()[:10]
        super().__init__(AudioDeviceInfo(f"file-microphone-{digest}", name, AudioDeviceType.MICROPHONE))
        self.source, self.loop = source, loop

    def open(self) -> MediaStreamTrack:
        return FileTrack(self.source, "audio", loop=self.loop)


class SpeakerDevice:
    """A speaker and the ``Speaker`` that plays into it."""

    def __init__(self, info: AudioDeviceInfo, speaker: Speaker) -> None:
        self.info = info
        self.speaker = speaker

    def selected(self) -> None:
        """Called when the device manager selects this speaker."""


def level_speaker() -> SpeakerDevice:
    return SpeakerDevice(
        AudioDeviceInfo("level-speaker", "Level-meter speaker", AudioDeviceType.SPEAKER, True), Speaker()
    )


def null_speaker() -> SpeakerDevice:
    return SpeakerDevice(AudioDeviceInfo("null-speaker", "Null speaker", AudioDeviceType.SPEAKER), NullSpeaker())


def file_camera(path: str | Path, name: str | None = None, *, loop: bool = True) -> FileCamera:
    """A camera playing ``path`` (looped, or once); raises ``FileNotFoundError`` or ``ValueError`` saying why."""
    source = _existing(path)
    description = probe(source, "video")
    return FileCamera(source, name or f"{Path(source).name} ({description})", loop=loop)


def file_microphone(path: str | Path, name: str | None = None, *, loop: bool = True) -> FileMicrophone:
    """A microphone playing ``path`` (in a loop, or once)."""
    source = _existing(path)
    description = probe(source, "audio")
    return FileMicrophone(source, name or f"{Path(source).name} ({description})", loop=loop)


def hardware_cameras() -> list[FileCamera]:
    """V4L2 capture devices of this machine (none on a headless server)."""
    cameras = []
    for device in sorted(glob.glob("/dev/video*")):
        name_file = Path("/sys/class/video4linux") / Path(device).name / "name"
        label = name_file.read_text().strip() if name_file.exists() else device
        cameras.append(FileCamera(device, f"{label} ({device})", live=True, av_format="v4l2"))
    return cameras


def _existing(path: str | Path) -> str:
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise FileNotFoundError(f"no such media file: {resolved} (give a path to a video or audio file PyAV can read)")
    return str(resolved.resolve())
