"""The call app: setup, call and end-of-call pages in one widget (ACS UI Library's CallComposite is the model)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import traitlets

from ..calling import Call, CallAgent, CallClient, CallState, LocalVideoStream, TokenCredential, ValueChanged
from ..errors import LabkitError
from ..protocol.end_reasons import CallEndReason
from ..protocol.signaling_client import request_token
from .browser_media import BrowserMedia
from .call_controls import CallControls
from .device_picker import DevicePicker
from .dialer import Dialer
from .error_bar import ErrorBar
from .incoming_call_prompt import IncomingCallPrompt
from .stats_panel import StatsPanel
from .video_panel import VideoPanel


def describe_end(reason: CallEndReason | None) -> str:
    """The end reason in words, with its code: ``Bob declined the call (603)``."""
    if reason is None:
        return "The call ended."
    code = f"{reason.code}" if reason.sub_code == 0 else f"{reason.code}/{reason.sub_code}"
    return f"{reason.message.rstrip('.') or 'The call ended'} ({code})"


class CallApp(widgets.VBox):
    """Devices and dialer, then the call with its gallery, controls and stats, then the end notice."""

    page = traitlets.Unicode("setup")
    """``setup``, ``call`` or ``ended``."""
    notice = traitlets.Unicode("")
    """The end-of-call notice as plain text, e.g. ``Bob declined the call (603)``."""

    def __init__(self, agent: CallAgent | None, client: CallClient | None = None, **kwargs: Any) -> None:
        self.agent, self.client = agent, client
        self.errors = ErrorBar()
        self.title = widgets.HTML()
        self.call: Call | None = None
        self.controls: CallControls | None = None
        self.video: VideoPanel | None = None
        self.stats: StatsPanel | None = None
        self.end_notice = widgets.HTML()
        self.new_call_button = widgets.Button(description="New call", icon="phone")
        self.new_call_button.on_click(lambda _: self._show("setup"))
        self.call_page = widgets.VBox()
        self.ended_page = widgets.VBox([self.end_notice, self.new_call_button])
        if agent is None:
            self.title.value = "<h3>labkit</h3>"
            super().__init__([self.title, self.errors], **kwargs)
            return
        self.title.value = f"<h3>labkit · {html.escape(agent.display_name)}</h3>"
        self.bridge = BrowserMedia(agent.device_manager)
        self.bridge.observe(lambda change: change["new"] and self.errors.run(self._ask_permission()), "attached")
        self.picker = DevicePicker(agent.device_manager, bridge=self.bridge)
        self.dialer = Dialer(agent, camera=self._camera)
        self.prompt = IncomingCallPrompt(agent, camera=self._camera)
        self.setup_page = widgets.VBox([self.picker, self.dialer])
        self.dialer.on_call(self._enter_call)
        self.prompt.on_accepted(self._enter_call)
        super().__init__([self.title, self.bridge, self.prompt, self.errors, self.setup_page], **kwargs)
        # side by side with another app, each keeps its share: an opened stats plot does not squeeze the other
        self.layout.flex = "1 1 0"
        self.layout.min_width = "300px"
        self.add_class("labkit-app")

    async def start(self) -> CallApp:
        if self.agent is not None:
            await self.picker.start()
        return self

    async def dispose(self) -> None:
        """Leave any call, release the devices and sign out."""
        if self.agent is not None:
            await self._close_call_page()
            await self.picker.dispose()
            await self.bridge.dispose()
        if self.client is not None:
            await self.client.dispose()

    async def _ask_permission(self) -> None:
        """A page is showing the app: offer its camera, microphone and speakers (the browser prompts)."""
        await self.bridge.ask_device_permission()

    def _camera(self) -> LocalVideoStream | None:
        return self.picker.stream  # the previewed camera goes into the call

    def _enter_call(self, call: Call) -> None:
        self.call = call
        self.picker.call = call
        self.controls = CallControls(call)
        self.video = VideoPanel(call, preview=self.picker.stream, bridge=self.bridge)
        self.stats = StatsPanel(call)
        self.stats.active = False  # folded: no plots drawn until someone opens it
        stats = widgets.Accordion(children=[self.stats], titles=("Call stats",), selected_index=None)
        stats.observe(self._stats_opened, "selected_index")
        self.call_page.children = (self.video, self.controls, stats)
        self.errors.run(self.video.start())
        call.on("state_changed", self._on_state)
        self._show("call")

    def _stats_opened(self, change: dict[str, Any]) -> None:
        if self.stats is not None:
            self.stats.active = change["new"] is not None
            if self.stats.active and self.stats.collector.samples:
                self.stats.redraw()

    def _on_state(self, event: ValueChanged[CallState]) -> None:
        if event.value is CallState.DISCONNECTED and self.call is not None:
            self.notice = describe_end(self.call.call_end_reason)
            self.end_notice.value = f"<h4>{html.escape(self.notice)}</h4>"
            self._show("ended")
            self.errors.run(self._close_call_page())

    async def _close_call_page(self) -> None:
        for part in (self.video, self.stats):
            if part is not None:
                await part.dispose()
        self.video = self.stats = None

    def _show(self, page: str) -> None:
        self.page = page
        body = {"setup": self.setup_page, "call": self.call_page, "ended": self.ended_page}[page]
        self.children = (self.title, self.bridge, self.prompt, self.errors, body)
        # the device picker's preview and meter run only while its page shows
        self.errors.run(self.picker.resume() if page == "setup" else self.picker.pause())


async def app(display_name: str, endpoint: str | None = None, user_id: str | None = None) -> CallApp:
    """A ready call app for ``display_name`` in one line: ``app = await labkit.app("Alice")``.

    It gets a token for ``user_id`` (default: the display name in lower case) from the
    service at ``endpoint`` (default: the embedded one). A failure to sign in shows in the
    app's error bar, with what to do.
    """
    client = CallClient(endpoint)
    try:
        user = user_id or display_name.lower()
        token, _ = await request_token(client.endpoint, user)

        async def fresh_token() -> str:  # a notebook left open keeps its app able to call
            return (await request_token(client.endpoint, user))[0]

        agent = await client.create_call_agent(TokenCredential(token, fresh_token), display_name)
    except (LabkitError, OSError) as error:
        await client.dispose()
        failed = CallApp(None)
        failed.errors.show(error, "Check that the labkit service is running and reachable (labkit serve).")
        return failed
    return await CallApp(agent, client).start()
