"""RGB pictures from decoded video frames, safe to make on any thread.

PyAV's ``frame.reformat()`` and ``frame.to_ndarray(format=...)`` use a converter cached
on the frame, so two threads converting one frame at once crash. Frames here may be
shared (a camera frame reaches every call and preview), so conversions use a converter
of their own per thread.
"""

from __future__ import annotations

import threading
from typing import cast

import numpy as np
import numpy.typing as npt
from av import VideoFrame
from av.video.reformatter import VideoReformatter

_local = threading.local()


def _reformatter() -> VideoReformatter:
    reformatter: VideoReformatter | None = getattr(_local, "reformatter", None)
    if reformatter is None:
        reformatter = _local.reformatter = VideoReformatter()
    return reformatter


def rgb_image(frame: VideoFrame, width: int | None = None, height: int | None = None) -> npt.NDArray[np.uint8]:
    """``frame`` as a height x width x 3 ``uint8`` array, scaled if a size is given."""
    converted = _reformatter().reformat(frame, width=width, height=height, format="rgb24")
    # to_ndarray() without arguments reads the frame as it is: no converter involved
    return cast(npt.NDArray[np.uint8], converted.to_ndarray())
