"""The recording's picture: tiles laid out in a grid, each frame fitted in its cell, labelled (labkit).

ACS's server-side recording composes a grid too. ``GridCompositor.compose`` is pure: tiles
in, an RGB picture out, so its layout can be tested in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from av import VideoFrame
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class Tile:
    """One picture in the recording's grid: a label, and the latest frame (None: no video)."""

    label: str
    frame: VideoFrame | None


@dataclass(frozen=True, slots=True)
class Cell:
    """Where one tile goes: its top-left corner and size, in pixels."""

    x: int
    y: int
    width: int
    height: int


class GridCompositor:
    """Lays tiles out in the smallest near-square grid that holds them all."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._font = ImageFont.load_default(size=max(12, height // 24))

    def cells(self, count: int) -> list[Cell]:
        """The cells for ``count`` tiles, row by row: ceil(sqrt(count)) columns."""
        columns = math.ceil(math.sqrt(max(1, count)))
        rows = math.ceil(max(1, count) / columns)
        cell_w, cell_h = self.width // columns, self.height // rows
        return [Cell((i % columns) * cell_w, (i // columns) * cell_h, cell_w, cell_h) for i in range(count)]

    def compose(self, tiles: Sequence[Tile]) -> npt.NDArray[np.uint8]:
        """The grid as an RGB array (height x width x 3)."""
        canvas = np.empty((self.height, self.width, 3), dtype=np.uint8)
        canvas[:] = BACKGROUND
        cells = self.cells(len(tiles))
        for tile, cell in zip(tiles, cells, strict=True):
            frame = tile.frame
            if frame is not None and frame.width and frame.height:
                scale = min(cell.width / frame.width, cell.height / frame.height)
                w = max(2, int(frame.width * scale) // 2 * 2)
                h = max(2, int(frame.height * scale) // 2 * 2)
                picture = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
                top, left = cell.y + (cell.height - h) // 2, cell.x + (cell.width - w) // 2
                canvas[top : top + h, left : left + w] = picture
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        for tile, cell in zip(tiles, cells, strict=True):
            draw.text(
                (cell.x + 8, cell.y + cell.height - 8), tile.label, font=self._font, fill=LABEL_COLOUR, anchor="ld"
            )
        return np.asarray(image)
