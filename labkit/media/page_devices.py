"""The notebook page's cameras, microphones and speakers, reached through a ``PageLink``.

A page camera or microphone opens as a ``PageSourceTrack``: the kernel asks the page to send
that device (``getUserMedia`` with its ``deviceId``) and the track passes on what arrives.
The page's speakers share one ``PageSpeaker``: the mix the kernel would play goes to the
page as an audio track, and the page plays it on the speaker picked (``setSinkId``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from .devices import AudioDeviceInfo, AudioDeviceType, Camera, Microphone, SpeakerDevice, VideoDeviceInfo
from .microphones import PacedAudioTrack
from .sample_queue import SampleQueue
from .speaker import MAX_BACKLOG, Speaker

if TYPE_CHECKING:
    from .page_link import PageLink


@dataclass(frozen=True, slots=True)
class PageDevice:
    """One ``MediaDeviceInfo`` of the page: ``kind`` is videoinput, audioinput or audiooutput."""

    kind: str
    device_id: str
    label: str


class PageSourceTrack(MediaStreamTrack):
    """Frames of one page device, once the page sends them; ends if the page cannot."""

    def __init__(self, kind: str, on_stop: Callable[[PageSourceTrack], None]) -> None:
        super().__init__()
        self.kind = kind
        self._remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._on_stop = on_stop
        self.error = ""
        """Why the page could not open the device (empty while it can)."""

    def bind(self, remote: MediaStreamTrack) -> None:
        """Take frames from ``remote`` (the page's track, as aiortc receives it)."""
        if not self._remote.done():
            self._remote.set_result(remote)

    def unbind(self) -> None:
        """The connection is starting over (the page reloaded): wait for the next ``bind``."""
        if self._remote.done() and not self._remote.cancelled() and self._remote.exception() is None:
            self._remote = asyncio.get_running_loop().create_future()

    def fail(self, error: str) -> None:
        """The page could not open the device (permission denied, no such device, page gone)."""
        self.error = error
        if not self._remote.done():
            self._remote.set_exception(MediaStreamError(error))

    async def recv(self) -> VideoFrame | AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        while True:
            waiting = self._remote
            remote = await asyncio.shield(waiting)
            try:
                frame = await remote.recv()
            except MediaStreamError:
                if self._remote is waiting:
                    raise
                continue  # the old connection's track ended; the new one is bound or coming
            assert isinstance(frame, VideoFrame | AudioFrame)
            return frame

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            if not self._remote.done():
                self._remote.cancel()
            self._on_stop(self)


class PageCamera(Camera):
    """A camera of the notebook page, named after its browser label."""

    def __init__(self, link: PageLink, device: PageDevice, number: int) -> None:
        super().__init__(
            VideoDeviceInfo(f"page-camera-{device.device_id[:16]}", device.label or f"Browser camera {number}")
        )
        self.link, self.device = link, device

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> MediaStreamTrack:
        return self.link.open_source("video", self.device.device_id)


class PageMicrophone(Microphone):
    """A microphone of the notebook page."""

    def __init__(self, link: PageLink, device: PageDevice, number: int) -> None:
        super().__init__(
            AudioDeviceInfo(
                f"page-microphone-{device.device_id[:16]}",
                device.label or f"Browser microphone {number}",
                AudioDeviceType.MICROPHONE,
            )
        )
        self.link, self.device = link, device

    def open(self) -> MediaStreamTrack:
        return self.link.open_source("audio", self.device.device_id)


class PageSpeakerTrack(PacedAudioTrack):
    """The page speaker's mix as a real-time track (silence when nothing is playing)."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = SampleQueue(MAX_BACKLOG)  # never more than 200 ms behind

    def push(self, samples: npt.NDArray[np.int16]) -> None:
        self._pending.push(samples)

    def samples(self, first: int, count: int) -> npt.NDArray[np.int16]:
        return self._pending.take(count)


class PageSpeaker(Speaker):
    """Mixes, measures and records like any ``Speaker``, and sends the mix to the page."""

    def __init__(self) -> None:
        super().__init__()
        self.track = PageSpeakerTrack()

    def _output(self, mix: npt.NDArray[np.int16]) -> None:
        self.track.push(mix)


class PageSpeakerDevice(SpeakerDevice):
    """One of the page's speakers; selecting it routes the page's audio there (``setSinkId``)."""

    def __init__(self, link: PageLink, device: PageDevice, number: int) -> None:
        super().__init__(
            AudioDeviceInfo(
                f"page-speaker-{device.device_id[:16]}",
                device.label or f"Browser speaker {number}",
                AudioDeviceType.SPEAKER,
                is_system_default=device.device_id == "default",
            ),
            link.speaker,
        )
        self.link, self.device = link, device

    def selected(self) -> None:
        self.link.route_speaker(self.device.device_id)
