"""The notebook page as a media peer of the kernel: the browser bridge widgets.

``BrowserMedia`` is an anywidget whose front end opens an RTCPeerConnection to the kernel's
engine (``labkit.media.page_link``), signalled over the widget's custom messages. Through
it the page's cameras, microphones and speakers become devices of a ``DeviceManager``,
and ``BrowserVideo`` shows any call video in a native ``<video>`` at full frame rate.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..calling import DeviceManager, LocalVideoStream, RemoteVideoStream
from ..calling.device_manager import DeviceAccess
from ..errors import ErrorCode, LabkitError
from ..media.page_link import PageEvent, PageLink

HERE = Path(__file__).parent
HEADLESS_HINT = (
    "This kernel has no page showing it (nbclient, a script, or a closed tab), so the kernel-side devices "
    "are used. Open the notebook in JupyterLab to use the browser's camera, microphone and speakers."
)
_keys = itertools.count(1)


class BrowserMedia(anywidget.AnyWidget):
    """The page's devices and video elements for ``devices`` (labkit's browser bridge).

    Create it, display it once (or not: the page's model starts the bridge either way), then
    ``await ask_device_permission()``: the browser's cameras, microphones and speakers are
    listed by ``devices`` and can be used in any call.
    """

    _esm = HERE / "browser_media.js"
    bridge_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("Browser media: waiting for the notebook page").tag(sync=True)
    attached = traitlets.Bool(False)
    """True once the notebook page has joined (kernel side only)."""

    def __init__(self, devices: DeviceManager, **kwargs: Any) -> None:
        super().__init__(bridge_id=uuid.uuid4().hex, **kwargs)
        self.devices = devices
        self._loop = asyncio.get_event_loop()
        self._attached_event = asyncio.Event()
        self.link = PageLink(devices.engine, self.send)
        self.link.listeners.append(self._on_link_event)
        self.on_msg(self._on_page_message)
        devices.attach_page(self.link)

    async def wait_attached(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) for the page; ``False`` with no front end (headless), never a hang."""
        try:
            await asyncio.wait_for(self._attached_event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def ask_device_permission(self, audio: bool = True, video: bool = True) -> DeviceAccess:
        """The browser's permission prompt; then the page's devices are listed. ACS: ``askDevicePermission``.

        Raises ``LabkitError`` (``no-page``) when no page is attached, saying what to do.
        """
        if not await self.wait_attached():
            raise LabkitError(ErrorCode.NO_PAGE, "No notebook page is attached to the browser bridge.", HEADLESS_HINT)
        access = await self.devices.ask_device_permission(audio=audio, video=video)
        asked = (("camera", video, access.video), ("microphone", audio, access.audio))
        denied = [kind for kind, wanted, got in asked if wanted and not got]
        if denied:
            hint = (
                "Allow them in the browser's site settings (the icon left of the address bar), then try again."
                if self.link.secure_context
                else "This page is not a secure context: browsers offer devices only to https:// pages and to "
                "localhost. Open JupyterLab over HTTPS, or on localhost."
            )
            raise LabkitError(
                ErrorCode.PERMISSION_DENIED, f"The browser did not allow the {' and '.join(denied)}.", hint
            )
        return access

    def video(self, stream: RemoteVideoStream | LocalVideoStream, mirrored: bool = False) -> BrowserVideo:
        """A widget showing ``stream`` in a native ``<video>`` (ACS: ``VideoStreamRenderer.createView``)."""
        return BrowserVideo(self, stream, mirrored=mirrored)

    async def dispose(self) -> None:
        self.devices.detach_page()
        await self.devices.engine.run(self.link.close())
        self.close()

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        self.link.receive(content)

    def _on_link_event(self, event: PageEvent) -> None:  # engine thread
        self._loop.call_soon_threadsafe(self._refresh)

    def _refresh(self) -> None:
        link = self.link
        self.attached = link.attached
        if link.attached:
            self._attached_event.set()
        kinds = [d.kind for d in link.devices]
        counts = ", ".join(
            f"{kinds.count(kind)} {name}{'' if kinds.count(kind) == 1 else 's'}"
            for kind, name in (("videoinput", "camera"), ("audioinput", "microphone"), ("audiooutput", "speaker"))
        )
        denied = [{"audio": "microphone", "video": "camera"}[k] for k, v in link.permission.items() if v is False]
        self.status = f"Browser media: attached ({counts})" + (f"; denied: {', '.join(denied)}" if denied else "")


class BrowserVideo(anywidget.AnyWidget):
    """One video (remote or local) shown in the page by the browser bridge."""

    _esm = HERE / "browser_video.js"
    bridge_id = traitlets.Unicode("").tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    width = traitlets.Int(320).tag(sync=True)
    """Pixels; 0 makes the video as wide as its container (4:3)."""
    height = traitlets.Int(240).tag(sync=True)
    mirrored = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self, bridge: BrowserMedia, stream: RemoteVideoStream | LocalVideoStream, mirrored: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(bridge_id=bridge.bridge_id, key=f"video-{next(_keys)}", mirrored=mirrored, **kwargs)
        self._bridge = bridge
        self._stream = stream
        self._track: Any = None
        link, key = bridge.link, self.key

        def show() -> None:
            self._track = stream.subscribe()
            link.show(key, self._track)

        bridge.devices.engine.call_soon(show)

    async def dispose(self) -> None:
        link, key, stream = self._bridge.link, self.key, self._stream

        async def hide() -> None:
            if isinstance(stream, LocalVideoStream) and self._track is not None:
                stream.unsubscribe(self._track)  # the camera closes after its last viewer
            link.hide(key)

        await self._bridge.devices.engine.run(hide())
        self.close()
