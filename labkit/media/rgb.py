"""RGB pictures from decoded video frames."""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
from av import VideoFrame


def rgb_image(frame: VideoFrame, width: int | None = None, height: int | None = None) -> npt.NDArray[np.uint8]:
    """``frame`` as a height x width x 3 ``uint8`` array, scaled if a size is given."""
    if width is not None and height is not None and (frame.width, frame.height) != (width, height):
        frame = frame.reformat(width=width, height=height)
    return cast(npt.NDArray[np.uint8], frame.to_ndarray(format="rgb24"))
