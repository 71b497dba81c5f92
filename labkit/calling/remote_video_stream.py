"""A remote participant's video. ACS: ``RemoteVideoStream``."""

from __future__ import annotations

import asyncio
import itertools
from typing import Literal

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from av import VideoFrame

from ..media import frame_code
from ..media.engine import MediaEngine
from ..media.feed_track import VideoFeedTrack
from ..media.rgb import rgb_image
from ..media.sinks import VideoSink
from ..states import MediaStreamType
from .event_emitter import Emitter, EventDispatcher, ValueChanged

_ids = itertools.count(1)


RemoteVideoStreamEventName = Literal["is_available_changed", "size_changed"]
"""The events of ``RemoteVideoStream``."""


class RemoteVideoStream(Emitter[RemoteVideoStreamEventName]):
    """Video from one remote participant.

    ``is_available`` is true while the participant sends video (not stopped, not on hold).
    Read frames with ``latest_frame()``, ``await next_frame()`` or a ``VideoStreamRenderer``.
    Events: ``is_available_changed``, ``size_changed`` (``ValueChanged``).
    """

    media_stream_type = MediaStreamType.VIDEO

    def __init__(self, engine: MediaEngine, dispatcher: EventDispatcher, name: str) -> None:
        super().__init__(dispatcher)
        self.id = next(_ids)
        self._engine = engine
        self._name = name
        self._is_available = False
        self._size = (0, 0)
        self._sink: VideoSink | None = None
        self._attached = asyncio.Event()
        self._feed = VideoFeedTrack()  # the remote track, once it arrives, shared through the relay
        self._relay = MediaRelay()

    @property
    def is_available(self) -> bool:
        return self._is_available

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames arriving now; (0, 0) before the first."""
        return self._size

    @property
    def frames_received(self) -> int:
        return self._sink.frames if self._sink else 0

    @property
    def first_frame_at(self) -> float | None:
        """``time.monotonic()`` when the first frame was decoded, or ``None`` (labkit)."""
        return self._sink.first_frame_at if self._sink else None

    @property
    def total_freeze_duration(self) -> float:
        """Seconds of video freezes so far (W3C ``totalFreezesDuration``)."""
        return self._sink.total_freeze_duration if self._sink else 0.0

    @property
    def longest_freeze_duration(self) -> float:
        """The longest video freeze so far, in seconds."""
        return self._sink.longest_freeze_duration if self._sink else 0.0

    @property
    def frame_rate(self) -> float:
        """Frames per second received over the last second."""
        return self._sink.rate() if self._sink else 0.0

    def latest_frame(self) -> VideoFrame | None:
        """The most recent decoded frame (a PyAV ``VideoFrame``), or ``None``."""
        return self._sink.latest if self._sink else None

    def latest_image(self) -> npt.NDArray[np.uint8] | None:
        """The most recent frame as an RGB array (height x width x 3)."""
        frame = self.latest_frame()
        if frame is None:
            return None
        return rgb_image(frame)

    def latest_stamp(self) -> frame_code.FrameStamp | None:
        """The synthetic-camera stamp of the latest frame (camera, frame number, capture time)."""
        image = self.latest_image()
        return None if image is None else frame_code.decode(image)

    async def next_frame(self, timeout: float = 5.0) -> VideoFrame:
        """Wait for the next frame to arrive."""

        async def wait() -> VideoFrame:
            await self._attached.wait()
            assert self._sink is not None
            return await self._sink.next_frame()

        return await asyncio.wait_for(self._engine.run(wait()), timeout)

    async def wait_until_available(self, timeout: float = 10.0) -> None:
        await self._wait_until("is_available_changed", lambda: self._is_available, "video becoming available", timeout)

    # --- engine side ----------------------------------------------------------------------

    def attach(self, track: MediaStreamTrack) -> None:
        self._feed.attach(track)
        self._sink = VideoSink(self.subscribe(), f"labkit-video {self._name}", on_size=self._on_size)
        self._attached.set()

    def subscribe(self) -> MediaStreamTrack:
        """Another consumer of the decoded frames, such as the browser bridge (stop it when done)."""
        return self._relay.subscribe(self._feed, buffered=False)

    def set_available(self, available: bool) -> None:
        if available != self._is_available:
            self._is_available = available
            self.emit("is_available_changed", ValueChanged(available, not available))

    def _on_size(self, width: int, height: int) -> None:
        previous, self._size = self._size, (width, height)
        self.emit("size_changed", ValueChanged(self._size, previous))

    async def close(self) -> None:
        self.set_available(False)
        if self._sink is not None:
            await self._sink.stop()
        self._feed.stop()

    def __repr__(self) -> str:
        return f"RemoteVideoStream(id={self.id}, {self._name!r}, is_available={self._is_available})"
