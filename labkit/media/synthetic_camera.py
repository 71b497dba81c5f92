"""A synthetic camera: a moving test pattern with a name, a clock and a machine-readable stamp."""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from datetime import datetime

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from av import VideoFrame
from PIL import Image, ImageDraw, ImageFont

from . import frame_code

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

PATTERNS = ("bars", "checker")
"""Camera 1 shows scrolling colour bars, camera 2 a drifting checkerboard."""

_BAR_COLOURS = np.array(
    [[235, 235, 235], [235, 235, 16], [16, 235, 235], [16, 235, 16], [235, 16, 235], [235, 16, 16], [16, 16, 235]],
    dtype=np.uint8,
)


@functools.lru_cache(maxsize=8)
def _background(pattern: str, width: int, height: int) -> npt.NDArray[np.uint8]:
    """One tile of the pattern, twice as wide as the frame so that it can scroll (computed once)."""
    if pattern == "bars":
        columns = (np.arange(2 * width) * len(_BAR_COLOURS) // width) % len(_BAR_COLOURS)
        image = np.broadcast_to(_BAR_COLOURS[columns][None, :, :], (height, 2 * width, 3)).copy()
    else:
        square = max(8, height // 8)
        palette = np.array([[230, 200, 60], [40, 60, 160]], dtype=np.uint8)
        parity = (np.arange(2 * width) // square) % 2
        rows = (palette[parity], palette[1 - parity])  # the only two distinct rows
        image = np.empty((height, 2 * width, 3), dtype=np.uint8)
        for top in range(0, height, square):
            image[top : top + square] = rows[(top // square) % 2]
    image.setflags(write=False)  # shared by every camera with this pattern and size
    return image


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


CLOCK_CHARACTERS = "0123456789:.# "
"""What the clock line is made of."""


@functools.lru_cache(maxsize=8)
def _clock_glyphs(size: int) -> dict[str, npt.NDArray[np.uint8]]:
    """Each clock character drawn once, yellow on black (drawing text holds the GIL for about 0.3 ms a line)."""
    font = _font(size)
    font_size = font.size if isinstance(font, ImageFont.FreeTypeFont) else 12
    height = round(font_size * 1.5)
    glyphs = {}
    for character in CLOCK_CHARACTERS:
        width = max(1, round(font.getlength(character)))
        image = Image.new("RGB", (width, height), (0, 0, 0))
        ImageDraw.Draw(image).text((0, 2), character, font=font, fill=(255, 255, 0))
        glyph = np.asarray(image)
        glyph.setflags(write=False)
        glyphs[character] = glyph
    return glyphs


class SyntheticCameraTrack(MediaStreamTrack):
    """Frames at ``fps`` that show ``label``, the time and the frame stamp of ``frame_code``."""

    kind = "video"

    def __init__(
        self,
        camera: int,
        label: str,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        pattern: str | None = None,
        accent: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        self.camera = camera
        self.width, self.height, self.fps = width, height, fps
        self.accent = accent
        """The owner's colour: a frame round the picture and the name's box, so two people never look alike."""
        self._background = _background(pattern or PATTERNS[(camera - 1) % len(PATTERNS)], width, height)
        self._title = self._render_text(label, height // 12, accent or (20, 20, 20))
        self._glyphs = _clock_glyphs(max(10, height // 16))
        self._frame_number = 0
        self._start: float | None = None

    @staticmethod
    def _render_text(text: str, size: int, background: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
        font = _font(size)
        box = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font)
        image = Image.new("RGB", (int(box[2] - box[0]) + 16, int(box[3] - box[1]) + 12), background)
        ImageDraw.Draw(image).text((8 - box[0], 6 - box[1]), text, font=font, fill=(255, 255, 255))
        return np.asarray(image)

    def _paste(self, frame: npt.NDArray[np.uint8], patch: npt.NDArray[np.uint8], x: int, y: int) -> None:
        h = min(patch.shape[0], self.height - y)
        w = min(patch.shape[1], self.width - x)
        frame[y : y + h, x : x + w] = patch[:h, :w]

    def render(self, frame_number: int, now: float) -> npt.NDArray[np.uint8]:
        """The picture for ``frame_number`` captured at wall-clock ``now``."""
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        self._draw(image, frame_number, now)
        return image

    def _draw(self, image: npt.NDArray[np.uint8], frame_number: int, now: float) -> None:
        offset = (frame_number * 4) % self.width
        np.copyto(image, self._background[:, offset : offset + self.width])
        band = frame_code.band_height(self.height)
        if self.accent is not None:
            edge = max(4, self.height // 40)
            image[:edge], image[-edge:], image[:, :edge], image[:, -edge:] = (self.accent,) * 4
        self._paste(image, self._title, 16, band + 16)
        clock = datetime.fromtimestamp(now).strftime("%H:%M:%S.%f")[:-3] + f"  #{frame_number}"
        self._paste(image, self._clock_image(clock), 16, self.height - self.height // 10 - 8)
        stamp = frame_code.FrameStamp(self.camera, frame_number, int(now * 1000) & 0xFFFFFFFF)
        frame_code.encode(image, stamp)

    def _clock_image(self, text: str) -> npt.NDArray[np.uint8]:
        glyphs = self._glyphs
        margin = glyphs[" "][:, :8]
        return np.concatenate([margin, *(glyphs[c] for c in text), margin], axis=1)

    def _capture(self, frame_number: int, now: float) -> VideoFrame:
        """A frame drawn straight into its own picture buffer (no copy of a rendered array)."""
        frame = VideoFrame(self.width, self.height, "rgb24")
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(self.height, plane.line_size)
        self._draw(rows[:, : self.width * 3].reshape(self.height, self.width, 3), frame_number, now)
        return frame

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._frame_number / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:  # we fell far behind (a stalled loop): skip ahead rather than burst
            self._start = time.monotonic() - self._frame_number / self.fps
        frame = self._capture(self._frame_number, time.time())
        frame.pts = int(self._frame_number * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self._frame_number += 1
        return frame
