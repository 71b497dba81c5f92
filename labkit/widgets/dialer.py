"""The dialer: call a user (by id or name) or join a group, and show your own id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from ..calling import Call, CallAgent, LocalVideoStream
from ..errors import ErrorCode, LabkitError
from ..identity import is_acs_user_id
from ..protocol.signaling_client import list_users
from .copy_button import CopyButton
from .error_bar import ErrorBar


async def resolve_callee(agent: CallAgent, callee: str) -> str:
    """A user id for ``callee``: an ACS user id as given, or a name the service knows."""
    callee = callee.strip()
    if not callee:
        raise LabkitError(ErrorCode.INVALID_MESSAGE, "Whom to call?", "Type a user id, a name or a group id.")
    if is_acs_user_id(callee) or callee.startswith("8:"):
        return callee
    users = await list_users(agent.endpoint)
    wanted = callee.lower()
    for user in users:
        if wanted in (str(user["name"]).lower(), str(user["displayName"]).lower()):
            return str(user["userId"])
    known = ", ".join(sorted({str(u["displayName"] or u["name"]) for u in users if u["userId"] != agent.user_id}))
    raise LabkitError(
        ErrorCode.INVALID_MESSAGE,
        f"The service knows nobody called {callee!r}.",
        f"Known: {known}." if known else "Nobody else has signed in yet.",
    )


class Dialer(widgets.VBox):
    """ACS guide: the callee box and the call buttons. ``on_call(handler)`` hears of each new call."""

    status = traitlets.Unicode("")
    last_call: Call | None = None

    def __init__(self, agent: CallAgent, camera: Callable[[], Any] | None = None, **kwargs: Any) -> None:
        self.agent = agent
        self._camera = camera
        self._handlers: list[Callable[[Call], None]] = []
        self.callee = widgets.Text(
            placeholder="user id, name or group id", description="Call", layout={"width": "320px"}
        )
        self.audio_button = widgets.Button(description="Audio call", icon="phone", button_style="success")
        self.video_button = widgets.Button(description="Video call", icon="video-camera", button_style="success")
        self.join_button = widgets.Button(description="Join group", icon="users")
        self.new_group_button = widgets.Button(description="New group id", icon="plus")
        self.identity = widgets.Text(
            value=agent.user_id, description=agent.display_name or "You", disabled=True, layout={"width": "100%"}
        )
        self.copy_button = CopyButton(agent.user_id, description="Copy my id")
        self.errors = ErrorBar()
        self.audio_button.on_click(lambda _: self.errors.run(self.call(video=False)))
        self.video_button.on_click(lambda _: self.errors.run(self.call(video=True)))
        self.join_button.on_click(lambda _: self.errors.run(self.join()))
        self.new_group_button.on_click(lambda _: setattr(self.callee, "value", str(uuid.uuid4())))
        buttons = widgets.HBox([self.audio_button, self.video_button, self.join_button, self.new_group_button])
        identity = widgets.HBox([self.identity, self.copy_button])
        super().__init__([identity, widgets.HBox([self.callee]), buttons, self.errors], **kwargs)

    def on_call(self, handler: Callable[[Call], None]) -> None:
        self._handlers.append(handler)

    async def call(self, video: bool = False) -> Call:
        """Call whoever the callee box names."""
        user_id = await resolve_callee(self.agent, self.callee.value)
        stream = await self._video_stream() if video else None
        return self._started(self.agent.start_call([user_id], video_options=stream), f"calling {self.callee.value}")

    async def join(self) -> Call:
        """Join the group whose GUID is in the callee box."""
        try:
            group_id = str(uuid.UUID(self.callee.value.strip()))
        except ValueError:
            raise LabkitError(
                ErrorCode.INVALID_MESSAGE, "A group id is a GUID.", "Press 'New group id' and share it."
            ) from None
        return self._started(self.agent.join(group_id, video_options=await self._video_stream()), "joined the group")

    async def _video_stream(self) -> LocalVideoStream | None:
        if self._camera is not None:
            stream: LocalVideoStream | None = self._camera()
            return stream
        devices = self.agent.device_manager
        cameras = await devices.get_cameras()
        if not cameras:
            raise LabkitError(ErrorCode.INVALID_MESSAGE, "There is no camera.", "Add one, or make an audio call.")
        return LocalVideoStream(cameras[0])

    def _started(self, call: Call, status: str) -> Call:
        self.last_call = call
        self.status = status
        for handler in list(self._handlers):
            handler(call)
        return call
