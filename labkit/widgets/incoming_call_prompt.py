"""The incoming-call prompt: who is calling, accept with audio or video, or reject."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from ..calling import Call, CallAgent, IncomingCall, IncomingCallEvent, LocalVideoStream, ValueChanged
from ..protocol.end_reasons import CallEndReason
from .error_bar import ErrorBar


class IncomingCallPrompt(widgets.VBox):
    """ACS guide: ``showIncomingCallUI``. Appears on ``incoming_call``, goes away if the caller gives up."""

    visible = traitlets.Bool(False)
    caller = traitlets.Unicode("")
    last_call: Call | None = None

    def __init__(self, agent: CallAgent, camera: Callable[[], LocalVideoStream | None] | None = None, **kwargs: Any):
        self.agent = agent
        self._camera = camera
        self._handlers: list[Callable[[Call], None]] = []
        self.incoming: IncomingCall | None = None
        self.message = widgets.HTML()
        self.accept_audio = widgets.Button(description="Accept", icon="phone", button_style="success")
        self.accept_video = widgets.Button(description="Accept with video", icon="video-camera", button_style="success")
        self.reject_button = widgets.Button(description="Reject", icon="phone-slash", button_style="danger")
        self.errors = ErrorBar()
        self.accept_audio.on_click(lambda _: self.errors.run(self.accept(video=False)))
        self.accept_video.on_click(lambda _: self.errors.run(self.accept(video=True)))
        self.reject_button.on_click(lambda _: self.errors.run(self.reject()))
        self.buttons = widgets.HBox([self.accept_audio, self.accept_video, self.reject_button])
        super().__init__([self.message, self.buttons, self.errors], **kwargs)
        self._show(False)
        agent.on("incoming_call", self._on_incoming)

    def on_accepted(self, handler: Callable[[Call], None]) -> None:
        self._handlers.append(handler)

    async def accept(self, video: bool = False) -> Call | None:
        incoming = self.incoming
        if incoming is None:
            return None
        stream = None
        if video:
            if self._camera:
                stream = self._camera()
            else:
                stream = LocalVideoStream((await self.agent.device_manager.get_cameras())[0])
        call = await incoming.accept(video_options=stream)
        self.last_call = call
        self._show(False)
        for handler in list(self._handlers):
            handler(call)
        return call

    async def reject(self) -> None:
        if self.incoming is not None:
            await self.incoming.reject()
        self._show(False)

    def _on_incoming(self, event: IncomingCallEvent) -> None:
        incoming = event.incoming_call
        self.incoming = incoming
        self.caller = incoming.caller_info.display_name or incoming.caller_info.identifier.id
        kind = "a video call" if incoming.is_video_call else "a call"
        self.message.value = f"<b>{html.escape(self.caller)}</b> is calling you ({kind})"
        self.accept_video.disabled = False
        incoming.on("call_ended", lambda e: self._on_ended(incoming, e))
        self._show(True)

    def _on_ended(self, incoming: IncomingCall, event: ValueChanged[CallEndReason]) -> None:
        if incoming is not self.incoming or not self.visible:
            return
        reason = event.value
        self.message.value = f"Missed call from {html.escape(self.caller)} ({reason.code}/{reason.sub_code})"
        self.buttons.layout.display = "none"
        self.visible = False

    def _show(self, visible: bool) -> None:
        self.visible = visible
        self.layout.display = None if visible else "none"
        self.buttons.layout.display = None if visible else "none"
