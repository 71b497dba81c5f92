"""A camera's video for calls and previews. ACS: ``LocalVideoStream``."""

from __future__ import annotations

from collections.abc import Callable

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay

from ..media.devices import VideoDeviceInfo
from ..media.engine import MediaEngine
from ..media.feed_track import VideoFeedTrack
from ..states import MediaStreamType
from .device_manager import DeviceManager, manager_of


class LocalVideoStream:
    """The video of ``camera``, shared by every call and preview that uses it.

    The camera opens when the first call or preview subscribes and closes when the last
    one lets go. ``switch_source`` changes the camera under every subscriber at once.
    """

    media_stream_type = MediaStreamType.VIDEO

    def __init__(self, camera: VideoDeviceInfo) -> None:
        self._manager: DeviceManager = manager_of(camera)
        self._manager.camera(camera.id)  # fail now, with a clear error, for an unknown camera
        self._source = camera
        self._feed: VideoFeedTrack | None = None
        self._relay: MediaRelay | None = None
        self._subscribers: set[MediaStreamTrack] = set()
        self._switch_listeners: list[Callable[[VideoDeviceInfo], None]] = []

    @property
    def source(self) -> VideoDeviceInfo:
        """The camera. ACS: ``source``."""
        return self._source

    @property
    def engine(self) -> MediaEngine:
        """The engine thread the camera's frames are made on (labkit)."""
        return self._manager.engine

    @property
    def is_active(self) -> bool:
        """True while some call or preview is using the camera."""
        return bool(self._subscribers)

    async def switch_source(self, camera: VideoDeviceInfo) -> None:
        """Show ``camera`` instead, in every call and preview. ACS: ``switchSource``."""
        device = manager_of(camera).camera(camera.id)
        engine = self._manager.engine

        async def switch() -> None:
            if self._feed is not None:
                old = self._feed.source
                self._feed.attach(device.open())
                if old is not None:
                    old.stop()

        await engine.run(switch())
        self._source = camera
        for listener in list(self._switch_listeners):
            engine.call_soon(listener, camera)

    # --- engine side ----------------------------------------------------------------------

    def subscribe(self) -> MediaStreamTrack:
        """A track of this stream's frames (engine thread); give it back with ``unsubscribe``."""
        if self._feed is None:
            self._feed = VideoFeedTrack()
            self._feed.attach(self._manager.camera(self._source.id).open())
            self._relay = MediaRelay()
        assert self._relay is not None
        proxy = self._relay.subscribe(self._feed, buffered=False)
        self._subscribers.add(proxy)
        return proxy

    @property
    def camera_failed(self) -> bool:
        """The camera ended or failed to open (labkit; for diagnostics)."""
        return self._feed is not None and self._feed.source_failed

    @property
    def camera_frames(self) -> int:
        """Frames the camera has delivered since it opened (labkit; for diagnostics)."""
        return self._feed.frames_sent if self._feed is not None else 0

    def on_switch(self, listener: Callable[[VideoDeviceInfo], None]) -> None:
        """Call ``listener(camera)`` on the engine thread after each ``switch_source`` (labkit)."""
        self._switch_listeners.append(listener)

    def off_switch(self, listener: Callable[[VideoDeviceInfo], None]) -> None:
        if listener in self._switch_listeners:
            self._switch_listeners.remove(listener)

    def unsubscribe(self, proxy: MediaStreamTrack) -> None:
        """Release a subscription (engine thread); the camera closes after the last one."""
        proxy.stop()
        self._subscribers.discard(proxy)
        if not self._subscribers and self._feed is not None:
            camera = self._feed.source
            self._feed.stop()
            if camera is not None:
                camera.stop()
            self._feed = None
            self._relay = None

    def __repr__(self) -> str:
        return f"LocalVideoStream({self._source.name!r})"
