"""The video panel: your mirrored preview and a tile per remote participant.

With a notebook page attached to a ``BrowserMedia`` bridge, each tile is a native ``<video>``
fed over WebRTC at full frame rate. Otherwise frames reach the page as JPEG in
``ipywidgets.Image`` widgets, pushed by a ``FramePump`` from the kernel's loop: the latest
frame per tile, never a queue.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from ..calling import Call, CollectionUpdated, LocalVideoStream, RemoteParticipant, VideoStreamRenderer
from ..calling.video_stream_renderer import ScalingMode
from .browser_media import BrowserMedia, BrowserVideo
from .frame_pump import Feed, FramePump

TILE = (320, 240)
STAGE_WIDTH = 720
"""The widest the video stage grows (px); in a narrower column it takes the column's width."""


def initials(name: str) -> str:
    parts = [p for p in name.replace("_", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def placeholder(name: str) -> Any:
    """A 'video off' picture: the participant's initials on grey."""

    def draw(width: int, height: int) -> npt.NDArray[np.uint8]:
        image = Image.new("RGB", (width, height), (60, 64, 72))
        font = ImageFont.load_default(size=height // 3)
        ImageDraw.Draw(image).text(
            (width / 2, height / 2), initials(name), font=font, fill=(230, 230, 230), anchor="mm"
        )
        return np.asarray(image)

    return draw


class VideoTile(widgets.VBox):
    """One person's video with their name, a muted icon, and a highlight while they speak.

    A ``fluid`` tile is as wide as the layout makes it (its picture keeps 4:3); otherwise 320x240 px.
    """

    def __init__(self, name: str, fluid: bool = False, **kwargs: Any) -> None:
        self.name = name
        self.fluid = fluid
        size = {"width": "100%", "height": "auto"} if fluid else {"width": f"{TILE[0]}px", "height": f"{TILE[1]}px"}
        self.image = widgets.Image(format="jpeg", layout=size)
        self.label = widgets.HTML()
        self.video: BrowserVideo | None = None
        super().__init__([self.image, self.label], **kwargs)
        self.add_class("labkit-tile")
        self.show(muted=False, speaking=False)

    def use_video(self, video: BrowserVideo, showing: bool = True) -> None:
        """Show ``video`` (a native ``<video>``) instead of the image while ``showing``; the tile keeps it."""
        if self.fluid:
            video.width = 0  # as wide as the tile
        self.video = video
        self.children = (video if showing else self.image, self.label)

    def show(self, muted: bool, speaking: bool, state: str = "") -> None:
        icon = ' <span style="color:#c62828">· muted</span>' if muted else ""
        extra = f" <small>({html.escape(state)})</small>" if state and state != "Connected" else ""
        self.label.value = f"<b>{html.escape(self.name)}</b>{icon}{extra}"
        self.layout.border = "3px solid #2e7d32" if speaking else "3px solid transparent"


class VideoPanel(widgets.VBox):
    """ACS guide: ``renderLocalVideo`` and ``renderRemoteVideo``; tiles come and go with participants."""

    def __init__(
        self,
        call: Call,
        preview: LocalVideoStream | None = None,
        scaling_mode: ScalingMode = "Crop",
        fps: float = 15.0,
        bridge: BrowserMedia | None = None,
        **kwargs: Any,
    ) -> None:
        self.call = call
        self.bridge = bridge if bridge is not None and bridge.attached else None
        """The browser bridge the tiles use, if a page was attached when the panel was made."""
        self.scaling_mode: ScalingMode = scaling_mode
        self.pump = FramePump(fps)
        self.tiles: dict[str, VideoTile] = {}
        self.gallery = widgets.HBox(layout={"flex_flow": "row wrap", "width": "100%", "grid_area": "1 / 1"})
        self.preview_tile = VideoTile("You (preview)", fluid=True)
        # the stage: the gallery, with your preview over its bottom right corner (picture in picture)
        self.stage = widgets.GridBox(
            [self.gallery, self.preview_tile],
            layout={"grid_template_columns": "100%", "width": "100%", "max_width": f"{STAGE_WIDTH}px"},
        )
        self._preview_renderer: VideoStreamRenderer | None = None
        super().__init__([self.stage], **kwargs)
        self.layout.width = "100%"
        self._arrange()
        stream = preview or (call.local_video_streams[0] if call.local_video_streams else None)
        if stream is not None:
            self._preview_renderer = VideoStreamRenderer(stream)
        call.on("remote_participants_updated", self._on_participants)
        for participant in call.remote_participants:
            self._add(participant)

    async def start(self) -> VideoPanel:
        """Start the mirrored preview (opens the camera if no call uses it yet)."""
        stream = self._preview_renderer.stream if self._preview_renderer is not None else None
        if self.bridge is not None and stream is not None:
            self.preview_tile.use_video(self.bridge.video(stream, mirrored=True))
        elif self._preview_renderer is not None:
            await self._preview_renderer.create_view(is_mirrored=True)
            self.pump.add(
                Feed(
                    self.preview_tile.image,
                    self._preview_renderer.latest_frame,
                    *TILE,
                    scaling_mode=self.scaling_mode,
                    is_mirrored=True,
                    placeholder=placeholder("You"),
                )
            )
        else:  # no camera in this call: the initials, not an empty image (a broken-image icon in the page)
            self.pump.add(Feed(self.preview_tile.image, lambda: None, *TILE, placeholder=placeholder("You")))
        return self

    async def dispose(self) -> None:
        self.pump.stop()
        if self._preview_renderer is not None:
            await self._preview_renderer.dispose()
        for tile in (self.preview_tile, *self.tiles.values()):
            if tile.video is not None:
                await tile.video.dispose()

    def _on_participants(self, event: CollectionUpdated[RemoteParticipant]) -> None:
        for participant in event.added:
            self._add(participant)
        for participant in event.removed:
            tile = self.tiles.pop(participant.user_id, None)
            if tile is not None:
                self.pump.remove(tile.image)
                if tile.video is not None:
                    asyncio.get_event_loop().create_task(tile.video.dispose())
                self.gallery.children = tuple(t for t in self.gallery.children if t is not tile)
        self._arrange()

    def _arrange(self) -> None:
        """One remote person fills the stage, two to four share it in two columns, more in three.

        Your preview sits small over the bottom right corner, or fills the stage while nobody else is there.
        """
        count = len(self.tiles)
        width = "100%" if count <= 1 else "calc(50% - 6px)" if count <= 4 else "calc(33.3% - 6px)"
        for tile in self.tiles.values():
            tile.layout.width = width
        preview = self.preview_tile.layout
        preview.grid_area = "1 / 1"
        if count:
            preview.width, preview.min_width, preview.margin = "28%", "96px", "auto 10px 10px auto"
            preview.align_self = "flex-end"
        else:
            preview.width, preview.min_width, preview.margin = "100%", "0", "0"
            preview.align_self = "flex-start"

    def _add(self, participant: RemoteParticipant) -> None:
        if participant.user_id in self.tiles:
            return
        tile = VideoTile(participant.display_name or participant.user_id, fluid=True)
        self.tiles[participant.user_id] = tile
        stream = participant.video_streams[0]

        def frame() -> Any:
            return stream.latest_frame() if stream.is_available else None

        self.pump.add(  # the placeholder; and the frames too, without a bridge
            Feed(
                tile.image,
                frame if self.bridge is None else lambda: None,
                *TILE,
                scaling_mode=self.scaling_mode,
                placeholder=placeholder(tile.name),
            )
        )
        video = self.bridge.video(stream) if self.bridge is not None else None

        def refresh(_: object = None) -> None:
            tile.show(participant.is_muted, participant.is_speaking, participant.state.value)
            if video is not None:  # the initials while the video is off
                tile.use_video(video, showing=stream.is_available)

        for name in ("is_muted_changed", "is_speaking_changed", "state_changed"):
            participant.on(name, refresh)
        stream.on("is_available_changed", refresh)
        refresh()
        self.gallery.children = (*self.gallery.children, tile)
        self._arrange()
