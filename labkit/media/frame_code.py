"""A machine-readable stamp in each synthetic video frame, so received frames can be read back.

Two rows of 32 black or white cells across the top of the picture carry 64 bits: the
camera number (4 bits), the frame number (20 bits), the capture time in milliseconds
(32 bits) and a checksum (8 bits). Cells are large enough to survive VP8 at low bitrates
and any scaling, so ``decode`` works on what a peer receives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

COLUMNS = 32
ROWS = 2
BAND_FRACTION = 1 / 15
"""Height of the band as a fraction of the frame height (32 px at 480)."""


@dataclass(frozen=True, slots=True)
class FrameStamp:
    camera: int
    frame_number: int
    capture_time_ms: int


def _checksum(payload: int) -> int:
    total = 0x5A
    for shift in range(0, 56, 8):
        total = (total * 31 + ((payload >> shift) & 0xFF)) & 0xFF
    return total


def _bits(stamp: FrameStamp) -> list[int]:
    payload = (
        ((stamp.camera & 0xF) << 52) | ((stamp.frame_number & 0xFFFFF) << 32) | (stamp.capture_time_ms & 0xFFFFFFFF)
    )
    word = (payload << 8) | _checksum(payload)
    return [(word >> (63 - i)) & 1 for i in range(64)]


def band_height(height: int) -> int:
    return max(ROWS * 2, round(height * BAND_FRACTION) // ROWS * ROWS)


def encode(image: npt.NDArray[np.uint8], stamp: FrameStamp) -> None:
    """Draw ``stamp`` into the top band of an RGB ``image`` (H x W x 3), in place."""
    height, width = image.shape[:2]
    cell_h = band_height(height) // ROWS
    bits = np.array(_bits(stamp), dtype=np.uint8).reshape(ROWS, COLUMNS) * 255
    cells = np.repeat(np.repeat(bits, cell_h, axis=0), -(-width // COLUMNS), axis=1)[:, :width]
    image[: ROWS * cell_h, :, :] = cells[:, :, None]


def decode(image: npt.NDArray[np.uint8]) -> FrameStamp | None:
    """Read the stamp from an RGB (or grey) picture; ``None`` if there is none or it is damaged."""
    height, width = image.shape[:2]
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    cell_h = band_height(height) // ROWS
    cell_w = width / COLUMNS
    word = 0
    for row in range(ROWS):
        y0, y1 = int(row * cell_h + cell_h * 0.25), int(row * cell_h + cell_h * 0.75) + 1
        for col in range(COLUMNS):
            x0, x1 = int(col * cell_w + cell_w * 0.25), int(col * cell_w + cell_w * 0.75) + 1
            word = (word << 1) | int(grey[y0:y1, x0:x1].mean() > 127)
    payload, check = word >> 8, word & 0xFF
    if _checksum(payload) != check:
        return None
    return FrameStamp(
        camera=payload >> 52, frame_number=(payload >> 32) & 0xFFFFF, capture_time_ms=payload & 0xFFFFFFFF
    )
