"""``CallHost``: what a call needs from the agent that owns it, as one small object (labkit).

ACS has no such object: it is the seam between ``CallAgent`` and its calls. The agent
fills it and keeps it current (the signaling connection is replaced when it reconnects,
the ICE configuration at each sign-in); its calls read it, and never the agent. Tests
give a call a host over an in-memory ``SignalingTransport`` to drive it without a service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from aiortc import RTCConfiguration

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import ErrorCode, LabkitError
from ..media.engine import MediaEngine
from ..protocol.messages import Message, UpdateState
from ..states import ConnectionState
from .event_emitter import EventDispatcher

if TYPE_CHECKING:
    from ..media.speaker import Speaker
    from .device_manager import DeviceManager
    from .token_credential import TokenCredential


class SignalingTransport(Protocol):
    """The agent's connection to the service: ``SignalingClient``, or an in-memory one in tests."""

    @property
    def is_connected(self) -> bool:
        """The connection is open."""

    async def request(self, message: Message, timeout: float = 10.0) -> Message:
        """Send ``message`` and return the service's reply (raises the ``LabkitError`` it answered)."""

    async def send(self, message: Message) -> None:
        """Send ``message``; no reply is awaited."""


@dataclass(eq=False)
class CallHost:
    """The engine, devices, signaling and settings an agent's calls share."""

    engine: MediaEngine
    dispatcher: EventDispatcher
    devices: DeviceManager
    credential: TokenCredential
    transport: SignalingTransport
    rtc_configuration: RTCConfiguration
    ring_timeout: float
    user_id: str = ""
    display_name: str = ""
    connection_state: ConnectionState = ConnectionState.DISCONNECTED
    clock: Clock = SYSTEM_CLOCK
    video_codecs: tuple[str, ...] = ("VP8",)
    sfu_above: int | None = None
    """The service's SFU policy (from sign-in): group calls beyond this size go through it; ``None``: no SFU."""
    """The video codecs this agent offers, first preferred."""
    on_call_ended: Callable[[str], None] = field(default=lambda call_id: None)
    """Called with the call's id once it is ``Disconnected`` (the agent forgets it)."""

    async def request(self, message: Message) -> Message:
        return await self.transport.request(message)

    async def send(self, message: Message) -> None:
        """Send to the service; while it is unreachable, state updates wait for the rejoin, the rest fails."""
        if not self.transport.is_connected:
            if isinstance(message, UpdateState):
                return  # the rejoin after reconnecting carries the call's state
            raise LabkitError(
                ErrorCode.SERVICE_UNREACHABLE,
                "The connection to the labkit service is down; labkit is reconnecting.",
                "Calls that were connected go on; try this again in a moment.",
            )
        await self.transport.send(message)

    def token_expired(self) -> bool:
        return self.credential.is_expired(now=self.clock.now())

    def speaker(self) -> Speaker:
        """The speaker that remote audio plays on now."""
        return self.devices.speaker_output()
