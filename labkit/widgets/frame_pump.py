"""Pushing video frames from the kernel into ``ipywidgets.Image`` widgets as JPEG.

One task on the kernel's event loop visits each registered image ``fps`` times a second.
It takes the *latest* frame of its source (never a queue), so a slow page or a busy
kernel only drops frames: nothing backs up, and the media engine, on its own thread,
never waits for the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import numpy.typing as npt
from av import VideoFrame
from PIL import Image

from ..calling.video_stream_renderer import ScalingMode, scale_frame

FrameSource = Callable[[], VideoFrame | None]
Placeholder = Callable[[int, int], npt.NDArray[np.uint8]]


def jpeg(image: npt.NDArray[np.uint8], quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@dataclass(eq=False)
class Feed:
    """One image and where its frames come from."""

    image: widgets.Image
    source: FrameSource
    width: int
    height: int
    scaling_mode: ScalingMode = "Crop"
    is_mirrored: bool = False
    placeholder: Placeholder | None = None
    frames_pushed: int = 0
    last: object = field(default=None, repr=False)
    showing_placeholder: bool = False


class FramePump:
    """Keeps every registered image showing its source's latest frame."""

    def __init__(self, fps: float = 15.0) -> None:
        self.fps = fps
        self.feeds: list[Feed] = []
        self._task: asyncio.Task[None] | None = None
        self.busy_seconds = 0.0
        """Kernel time spent scaling and encoding so far."""

    def add(self, feed: Feed) -> Feed:
        self.feeds.append(feed)
        self._ensure_running()
        return feed

    def remove(self, image: widgets.Image) -> None:
        self.feeds = [f for f in self.feeds if f.image is not image]

    def push_once(self) -> None:
        """Update every image whose source has a new frame (or show its placeholder)."""
        began = time.perf_counter()
        for feed in list(self.feeds):
            frame = feed.source()
            if frame is None:
                if feed.placeholder is not None and not feed.showing_placeholder:
                    feed.image.value = jpeg(feed.placeholder(feed.width, feed.height))
                    feed.showing_placeholder = True
                continue
            if frame is feed.last:
                continue
            feed.last = frame
            feed.showing_placeholder = False
            picture = scale_frame(frame, feed.width, feed.height, feed.scaling_mode, feed.is_mirrored)
            feed.image.value = jpeg(picture)
            feed.frames_pushed += 1
        self.busy_seconds += time.perf_counter() - began

    @property
    def is_running(self) -> bool:
        """Its task is pushing frames (``stop()`` ends it; ``add()`` starts it again)."""
        return self._task is not None and not self._task.done()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: push_once() by hand
                self._task = asyncio.get_event_loop().create_task(self._run(), name="labkit-frame-pump")

    async def _run(self) -> None:
        period = 1 / self.fps
        deadline = time.monotonic()
        while self.feeds:
            self.push_once()
            deadline += period  # a schedule, not a fixed pause: the work does not slow the rate
            now = time.monotonic()
            if deadline < now - period:  # far behind (a busy kernel): drop the missed ticks
                deadline = now
            await asyncio.sleep(max(0.0, deadline - now))
