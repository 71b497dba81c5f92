"""Turning a video stream into pictures. ACS: ``VideoStreamRenderer`` and ``VideoStreamRendererView``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from av import VideoFrame
from PIL import Image

from ..media.rgb import rgb_image
from ..media.sinks import VideoSink
from .local_video_stream import LocalVideoStream

if TYPE_CHECKING:
    from .remote_video_stream import RemoteVideoStream

ScalingMode = Literal["Crop", "Fit", "Stretch"]
SCALING_MODES: tuple[ScalingMode, ...] = ("Crop", "Fit", "Stretch")


def scale_frame(
    frame: VideoFrame, width: int, height: int, scaling_mode: ScalingMode = "Crop", is_mirrored: bool = False
) -> npt.NDArray[np.uint8]:
    """``frame`` as an RGB array of exactly ``height`` x ``width``.

    ``Crop`` fills the box and cuts the overflow, ``Fit`` shows all of it with black bars,
    ``Stretch`` ignores the aspect ratio. ``is_mirrored`` flips it left to right.
    """
    if scaling_mode not in SCALING_MODES:
        raise ValueError(f"scaling_mode must be one of {', '.join(SCALING_MODES)}, not {scaling_mode!r}")
    if scaling_mode == "Stretch":
        image = rgb_image(frame, width, height)
    else:
        grow = max if scaling_mode == "Crop" else min
        scale = grow(width / frame.width, height / frame.height)
        w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
        scaled = rgb_image(frame, w, h)
        image = np.zeros((height, width, 3), dtype=np.uint8)
        # centre the scaled picture: crop where it is larger, pad where it is smaller
        sy, dy = max(0, (h - height) // 2), max(0, (height - h) // 2)
        sx, dx = max(0, (w - width) // 2), max(0, (width - w) // 2)
        ch, cw = min(h, height), min(w, width)
        image[dy : dy + ch, dx : dx + cw] = scaled[sy : sy + ch, sx : sx + cw]
    return image[:, ::-1].copy() if is_mirrored else image


class VideoStreamRendererView:
    """One view of a stream. ACS: ``VideoStreamRendererView`` (``target`` is the DOM element there)."""

    def __init__(self, renderer: VideoStreamRenderer, scaling_mode: ScalingMode, is_mirrored: bool) -> None:
        if scaling_mode not in SCALING_MODES:
            raise ValueError(f"scaling_mode must be one of {', '.join(SCALING_MODES)}, not {scaling_mode!r}")
        self._renderer = renderer
        self.scaling_mode: ScalingMode = scaling_mode
        self.is_mirrored = is_mirrored
        self.is_disposed = False

    async def update_scaling_mode(self, scaling_mode: ScalingMode) -> None:
        """ACS: ``updateScalingMode``."""
        if scaling_mode not in SCALING_MODES:
            raise ValueError(f"scaling_mode must be one of {', '.join(SCALING_MODES)}, not {scaling_mode!r}")
        self.scaling_mode = scaling_mode

    def frame(self, width: int = 320, height: int = 240) -> npt.NDArray[np.uint8] | None:
        """The latest picture, scaled to ``width`` x ``height`` (RGB), or ``None`` before the first frame."""
        latest = self._renderer.latest_frame()
        if latest is None:
            return None
        return scale_frame(latest, width, height, self.scaling_mode, self.is_mirrored)

    def snapshot(self, path: str | Path, width: int = 640, height: int = 480) -> Path:
        """Save the latest picture as PNG; raises ``RuntimeError`` before the first frame."""
        image = self.frame(width, height)
        if image is None:
            raise RuntimeError("no frame has arrived yet; wait for the stream to be available")
        target = Path(path)
        Image.fromarray(image).save(target, format="PNG")
        return target

    def dispose(self) -> None:
        """ACS: ``dispose``."""
        self.is_disposed = True
        self._renderer.forget(self)


class VideoStreamRenderer:
    """Renders a local or remote video stream into views. ACS: ``VideoStreamRenderer``.

    For a local stream it subscribes to the camera (which opens it) until ``dispose()``.
    """

    def __init__(self, stream: LocalVideoStream | RemoteVideoStream) -> None:
        self.stream = stream
        self._views: set[VideoStreamRendererView] = set()
        self._local_sink: VideoSink | None = None
        self._proxy: object = None

    async def create_view(
        self, scaling_mode: ScalingMode = "Crop", is_mirrored: bool = False
    ) -> VideoStreamRendererView:
        """A new view. ACS: ``createView({scalingMode, isMirrored})``."""
        view = VideoStreamRendererView(self, scaling_mode, is_mirrored)
        if isinstance(self.stream, LocalVideoStream) and self._local_sink is None:
            stream = self.stream

            async def start() -> VideoSink:
                self._proxy = proxy = stream.subscribe()
                return VideoSink(proxy, "labkit-preview")

            self._local_sink = await stream.engine.run(start())
        self._views.add(view)
        return view

    def forget(self, view: VideoStreamRendererView) -> None:
        """A view was disposed: stop counting it."""
        self._views.discard(view)

    def latest_frame(self) -> VideoFrame | None:
        if self._local_sink is not None:
            return self._local_sink.latest
        if isinstance(self.stream, LocalVideoStream):
            return None
        return self.stream.latest_frame()

    async def dispose(self) -> None:
        """Stop rendering; a local camera closes if nothing else uses it. ACS: ``dispose``."""
        self._views.clear()
        sink, self._local_sink = self._local_sink, None
        if sink is not None and isinstance(self.stream, LocalVideoStream):
            stream, proxy = self.stream, self._proxy

            async def stop() -> None:
                await sink.stop()
                stream.unsubscribe(proxy)  # type: ignore[arg-type]

            await stream.engine.run(stop())
