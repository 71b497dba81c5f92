"""A call that is ringing for this agent. ACS: ``IncomingCall``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ErrorCode, LabkitError
from ..identity import CommunicationUserIdentifier
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import IncomingCall as IncomingCallMessage
from .call import Call
from .call_options import AudioOptions, VideoOptions
from .event_emitter import Emitter, EventDispatcher, ValueChanged
from .local_video_stream import LocalVideoStream

Answer = Callable[
    ["IncomingCall", AudioOptions | dict[str, Any] | None, VideoOptions | LocalVideoStream | dict[str, Any] | None],
    Awaitable[Call],
]
"""The agent's way to answer: it alone makes calls."""


@dataclass(frozen=True, slots=True)
class CallerInfo:
    """Who is calling. ACS: ``CallerInfo``."""

    identifier: CommunicationUserIdentifier
    display_name: str


IncomingCallEventName = Literal["call_ended"]
"""The events of ``IncomingCall``."""


class IncomingCall(Emitter[IncomingCallEventName]):
    """Accept it (``await accept(...)`` returns the ``Call``) or ``await reject()``.

    The ``call_ended`` event (``ValueChanged`` of ``call_end_reason``) fires if the caller
    cancels (487), nobody answers in time (408), or it is rejected (603).
    """

    def __init__(
        self,
        dispatcher: EventDispatcher,
        message: IncomingCallMessage,
        answer: Answer,
        decline: Callable[[IncomingCall], Awaitable[None]],
    ) -> None:
        super().__init__(dispatcher)
        self._answer = answer
        self._decline = decline
        self.id = message.call_id
        self.caller_info = CallerInfo(CommunicationUserIdentifier(message.caller.user_id), message.caller.display_name)
        self.is_video_call = message.video
        """True if the caller offered video (labkit)."""
        self.is_group_call = message.is_group_call
        self._end_reason: CallEndReason | None = None
        self._answered = False

    @property
    def call_end_reason(self) -> CallEndReason | None:
        return self._end_reason

    @property
    def is_ringing(self) -> bool:
        """Neither answered, rejected nor ended yet (labkit)."""
        return self._end_reason is None and not self._answered

    async def accept(
        self,
        audio_options: AudioOptions | dict[str, Any] | None = None,
        video_options: VideoOptions | LocalVideoStream | dict[str, Any] | None = None,
    ) -> Call:
        """Answer, with video if ``video_options`` names a ``LocalVideoStream``. ACS: ``accept``."""
        self._check_open()
        self._answered = True
        return await self._answer(self, audio_options, video_options)

    async def reject(self) -> None:
        """Decline the call (the caller sees 603). ACS: ``reject``."""
        self._check_open()
        self._answered = True
        await self._decline(self)

    async def wait_for_end(self, timeout: float = 10.0) -> CallEndReason:
        await self._wait_until("call_ended", lambda: self._end_reason is not None, "the incoming call ending", timeout)
        assert self._end_reason is not None
        return self._end_reason

    def _check_open(self) -> None:
        if self._end_reason is not None:
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"The incoming call has ended ({self._end_reason.message}).")
        if self._answered:
            raise LabkitError(ErrorCode.NOT_INVITED, "This incoming call was already accepted or rejected.")

    # --- engine side ----------------------------------------------------------------------

    def end(self, reason: CallEndReason) -> None:
        if self._end_reason is None:
            self._end_reason = reason
            self.emit("call_ended", ValueChanged(reason, None))

    def __repr__(self) -> str:
        return f"IncomingCall(from {self.caller_info.display_name!r}, {self.id[:8]})"
