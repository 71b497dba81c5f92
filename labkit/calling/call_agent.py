"""The signed-in agent that makes and receives calls. ACS: ``CallAgent``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiortc import RTCConfiguration, RTCIceServer

from ..errors import ArgumentError, ErrorCode, LabkitError, TokenError
from ..identity import CommunicationUserIdentifier
from ..media.engine import MediaEngine
from ..media.ice import rtc_configuration
from ..media.speaker import Speaker
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    FINAL_CLOSE_CODES,
    CallEnded,
    Message,
    RefreshToken,
    Ringing,
    UpdateState,
    checked_ring_timeout,
    checked_user_id,
)
from ..protocol.messages import (
    IncomingCall as IncomingCallMessage,
)
from ..protocol.signaling_client import SignalingClient
from ..states import CallDirection, ConnectionState
from .call import Call, log_failure
from .call_options import AudioOptions, VideoOptions, audio_options, video_options
from .device_manager import DeviceManager
from .events import CollectionUpdated, Emitter, EventDispatcher, ValueChanged
from .incoming_call import IncomingCall
from .local_video_stream import LocalVideoStream
from .token_credential import TokenCredential

if TYPE_CHECKING:
    from collections.abc import Coroutine

logger = logging.getLogger(__name__)

TOKEN_RETRY_SECONDS = 5.0
"""How soon a failed token refresh is tried again."""
RECONNECT_FIRST_DELAY = 0.25
RECONNECT_MAX_DELAY = 4.0
"""Reconnecting waits 0.25 s, then twice as long each time, up to this."""
RECONNECT_GIVE_UP = 120.0
"""Seconds without the service after which the calls that went on without it end (410/3100);
the agent itself keeps trying, every ``RECONNECT_MAX_DELAY`` seconds, until it is disposed."""

Participant = CommunicationUserIdentifier | str | dict[str, str]


@dataclass(frozen=True, slots=True)
class IncomingCallEvent:
    """The ``incoming_call`` event's argument. ACS: ``{ incomingCall }``."""

    incoming_call: IncomingCall


def user_id_of(participant: Participant) -> str:
    """A user id from an identifier, a string or ACS's ``{"communicationUserId": ...}``; ``ArgumentError`` if none."""
    if isinstance(participant, CommunicationUserIdentifier):
        return checked_user_id(participant.id)
    if isinstance(participant, dict):
        value = next(
            (participant[k] for k in ("communicationUserId", "communication_user_id", "id") if k in participant), None
        )
        if value is None:
            raise ArgumentError(
                f"Cannot tell the user id of {str(participant)[:80]}.", "Use {'communicationUserId': '8:acs:...'}."
            )
        return checked_user_id(value)
    return checked_user_id(participant)


class CallAgent(Emitter):
    """Makes calls (``start_call``, ``join``) and receives them (the ``incoming_call`` event).

    Events: ``incoming_call`` (``IncomingCallEvent``), ``calls_updated``
    (``CollectionUpdated`` of calls) and ``connection_state_changed`` (``ValueChanged``).
    """

    EVENTS = ("incoming_call", "calls_updated", "connection_state_changed")

    def __init__(
        self,
        engine: MediaEngine,
        dispatcher: EventDispatcher,
        devices: DeviceManager,
        endpoint: str,
        credential: TokenCredential,
        display_name: str,
        rtc_configuration: RTCConfiguration,
        ring_timeout: float,
        service_ice_servers: bool = True,
    ) -> None:
        super().__init__(dispatcher)
        self._engine = engine
        self._devices = devices
        self._credential = credential
        self._rtc_configuration = rtc_configuration
        self._service_ice_servers = service_ice_servers
        """Use the STUN and TURN servers the service gives at sign-in (unless the client was given some)."""
        self._token_keeper: asyncio.Task[None] | None = None
        self._ring_timeout = checked_ring_timeout(ring_timeout)
        self.endpoint = endpoint
        self.display_name = display_name
        self._identifier: CommunicationUserIdentifier | None = None
        self._signaling = SignalingClient(endpoint, on_message=self._on_message, on_close=self._on_close)
        self._calls: dict[str, Call] = {}
        self._incoming: dict[str, IncomingCall] = {}
        self._handed_out: weakref.WeakSet[IncomingCall] = weakref.WeakSet()
        self._connection_state = ConnectionState.DISCONNECTED
        self._reconnecting: asyncio.Task[None] | None = None
        self._disposed = False
        self._mic_listener = devices.on("selected_microphone_changed", self._on_microphone_changed)

    @property
    def identifier(self) -> CommunicationUserIdentifier:
        """This agent's user. ACS: the identity its token was issued to."""
        if self._identifier is None:
            raise LabkitError(ErrorCode.NOT_SIGNED_IN, "The agent has not signed in yet.")
        return self._identifier

    @property
    def user_id(self) -> str:
        return self._identifier.id if self._identifier else ""

    @property
    def device_manager(self) -> DeviceManager:
        """The devices this agent's calls use (labkit; ACS: ``callClient.getDeviceManager()``)."""
        return self._devices

    @property
    def calls(self) -> tuple[Call, ...]:
        """Calls not yet disconnected. ACS: ``calls``."""
        return tuple(self._calls.values())

    @property
    def ring_timeout(self) -> float:
        """Seconds this agent's outgoing calls ring before they end with 408 (above 0, at most 600)."""
        return self._ring_timeout

    @ring_timeout.setter
    def ring_timeout(self, seconds: float) -> None:
        self._ring_timeout = checked_ring_timeout(seconds)

    @property
    def connection_state(self) -> ConnectionState:
        return self._connection_state

    # --- ACS methods ----------------------------------------------------------------------

    def start_call(
        self,
        participants: Participant | Sequence[Participant],
        audio_options: AudioOptions | dict[str, Any] | None = None,
        video_options: VideoOptions | LocalVideoStream | dict[str, Any] | None = None,
    ) -> Call:
        """Call one user (1:1) or several (a group); returns the ``Call`` at once. ACS: ``startCall``.

        Follow it with ``call.on("state_changed", ...)`` or ``await call.wait_for_state("Connected")``.
        """
        if isinstance(participants, str | dict | CommunicationUserIdentifier):
            participants = [participants]
        if not isinstance(participants, Sequence):
            raise ArgumentError(f"start_call takes a participant or a list of them, not {type(participants).__name__}.")
        user_ids = [user_id_of(p) for p in participants]
        if not user_ids:
            raise ArgumentError("start_call needs at least one participant.")
        return self._begin(user_ids, None, audio_options, video_options)

    def join(
        self,
        group_id: str,
        audio_options: AudioOptions | dict[str, Any] | None = None,
        video_options: VideoOptions | LocalVideoStream | dict[str, Any] | None = None,
    ) -> Call:
        """Join (or open) the group call ``group_id`` (a GUID). ACS: ``join({groupId})``."""
        try:
            group_id = str(uuid.UUID(str(group_id)))
        except ValueError:
            raise ArgumentError(
                f"group_id must be a GUID such as {uuid.uuid4()}, not {str(group_id)[:40]!r}."
            ) from None
        return self._begin([], group_id, audio_options, video_options)

    async def dispose(self) -> None:
        """Hang up every call and sign out. ACS: ``dispose``."""
        if self._disposed:
            return
        self._disposed = True
        self._devices.off("selected_microphone_changed", self._mic_listener)
        await self._run(self._dispose())

    async def wait_for_incoming_call(self, timeout: float = 10.0) -> IncomingCall:
        """The oldest incoming call still ringing that this method has not returned yet, or the next one (labkit)."""
        self._dispatcher.bind()

        def fresh() -> IncomingCall | None:
            return next((c for c in self._incoming.values() if c.is_ringing and c not in self._handed_out), None)

        pending = fresh()
        if pending is None:
            await self._wait_until("incoming_call", lambda: fresh() is not None, "an incoming call", timeout)
            pending = fresh()
        assert pending is not None
        self._handed_out.add(pending)
        return pending

    # --- internals ------------------------------------------------------------------------

    def _begin(
        self,
        user_ids: list[str],
        group_id: str | None,
        audio: AudioOptions | dict[str, Any] | None,
        video: VideoOptions | LocalVideoStream | dict[str, Any] | None,
    ) -> Call:
        if self._disposed:
            raise LabkitError(ErrorCode.NOT_SIGNED_IN, "This call agent has been disposed.", "Create a new one.")
        self._dispatcher.bind()
        streams = video_options(video).local_video_streams
        call_id = group_id or str(uuid.uuid4())
        call = Call(
            self,
            call_id,
            CallDirection.OUTGOING,
            muted=audio_options(audio).muted,
            video=streams[0] if streams else None,
        )
        self._track(call)
        work = self._engine.submit(call._start_outgoing(user_ids, group_id=group_id))
        work.add_done_callback(log_failure(f"starting call {call_id[:8]}"))
        return call

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        self._dispatcher.bind()
        return await self._engine.run(coro)

    async def _connect(self) -> None:
        token = await self._credential.get_token()
        signed_in = await self._signaling.connect(token, self.display_name)
        if self._service_ice_servers:  # fresh TURN credentials at every sign-in
            servers = [RTCIceServer(s.urls, s.username, s.credential) for s in signed_in.ice_servers]
            self._rtc_configuration = rtc_configuration(servers, signed_in.ice_transport_policy)
        self._identifier = CommunicationUserIdentifier(signed_in.user_id)
        self.display_name = signed_in.display_name
        self._set_connection_state(ConnectionState.CONNECTED)
        if self._credential.can_refresh:
            self._token_keeper = asyncio.ensure_future(self._keep_token_fresh())

    async def _keep_token_fresh(self) -> None:
        """Give the service a fresh token before the current one expires (engine thread)."""
        credential = self._credential
        while credential.can_refresh and (expires := credential.expires_on) is not None:
            await asyncio.sleep(max(0.0, (expires - datetime.now(UTC) - credential.refresh_before).total_seconds()))
            try:
                token = await credential.get_token()
                renewed = credential.expires_on
                if renewed is None or renewed <= expires:
                    raise ValueError("the refresher gave a token that expires no later than the one before")
                await self._request(RefreshToken(token=token))
                logger.info("%s: token refreshed; it now expires at %s", self.display_name, renewed.isoformat())
            except Exception as error:  # a refresher that fails must not end the agent; it retries
                logger.warning("%s: the token could not be refreshed (%s); trying again soon", self.display_name, error)
                await asyncio.sleep(TOKEN_RETRY_SECONDS)

    async def _request(self, message: Message) -> Message:
        return await self._signaling.request(message)

    async def _send(self, message: object) -> None:
        assert isinstance(message, Message)
        if not self._signaling.is_connected:
            if isinstance(message, UpdateState):
                return  # the rejoin after reconnecting carries the call's state
            raise LabkitError(
                ErrorCode.SERVICE_UNREACHABLE,
                "The connection to the labkit service is down; labkit is reconnecting.",
                "Calls that were connected go on; try this again in a moment.",
            )
        await self._signaling.send(message)

    def _track(self, call: Call) -> None:
        self._calls[call.id] = call
        self._emit("calls_updated", CollectionUpdated(added=(call,)))

    def _forget(self, call: Call) -> None:
        if self._calls.get(call.id) is call:
            del self._calls[call.id]
            self._emit("calls_updated", CollectionUpdated(removed=(call,)))

    def _current_speaker(self) -> Speaker:
        return self._devices.speaker_output()

    def _speaker_forget(self, source: str) -> None:
        self._devices.speaker_output().forget(source)

    def _on_microphone_changed(self, _: object) -> None:
        for call in list(self._calls.values()):
            self._engine.call_soon(call._switch_microphone)

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, IncomingCallMessage):
            incoming = IncomingCall(self, message)
            self._incoming[message.call_id] = incoming
            with contextlib.suppress(LabkitError, ConnectionError):
                await self._signaling.send(Ringing(call_id=message.call_id))
            self._emit("incoming_call", IncomingCallEvent(incoming))
            return
        call_id = getattr(message, "call_id", None)
        if call_id is None:
            return
        call = self._calls.get(call_id)
        if call is not None:
            await call._on_message(message)
        elif isinstance(message, CallEnded):
            pending = self._incoming.pop(call_id, None)
            if pending is not None:
                pending.end(message.reason.to_reason())
        if isinstance(message, CallEnded):
            self._incoming.pop(call_id, None)

    async def _on_close(self, code: int | None) -> None:
        """The signaling connection closed: calls whose media is up go on while the agent reconnects.

        ACS keeps calls through a signaling outage too. Calls still ringing or connecting need
        the service, so they end (410/3100); so does everything when the close is final (a
        refused or revoked token, or a sign-in elsewhere).
        """
        self._set_connection_state(ConnectionState.DISCONNECTED)
        await self._stop_token_keeper()
        if self._disposed or (self._reconnecting is not None and not self._reconnecting.done()):
            return  # disposed, or a reconnection attempt that failed: the reconnect loop goes on
        final = code in FINAL_CLOSE_CODES
        logger.warning(
            "the connection to the labkit service closed (code %s)%s", code, "" if final else "; reconnecting"
        )
        for incoming in list(self._incoming.values()):
            incoming.end(end_reasons.NETWORK)
        self._incoming.clear()
        for call in list(self._calls.values()):
            if final or not call.is_established:
                await call._finish(end_reasons.NETWORK)
        if not final:
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        """Sign in again with backoff, then rejoin every call that went on (engine thread)."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + RECONNECT_GIVE_UP, RECONNECT_FIRST_DELAY
        calls_ended = False
        while not self._disposed:
            await asyncio.sleep(delay)
            await self._signaling.close()
            self._signaling = SignalingClient(self.endpoint, on_message=self._on_message, on_close=self._on_close)
            try:
                await self._connect()
            except TokenError as refused:  # the service no longer takes the token: nothing to rejoin with
                logger.warning("%s: reconnected, but the token was refused (%s)", self.display_name, refused.code.value)
                await self._end_calls(end_reasons.INVALID_TOKEN.with_message(refused.message))
                return
            except Exception as error:
                if loop.time() > deadline and not calls_ended:
                    calls_ended = True
                    logger.warning("%s: the service stayed unreachable; the calls end", self.display_name)
                    await self._end_calls(end_reasons.NETWORK.with_message("The labkit service stayed unreachable."))
                (logger.debug if calls_ended else logger.info)(
                    "%s: the service is still unreachable (%s); trying again", self.display_name, error
                )
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
                continue
            logger.info(
                "%s: reconnected to the labkit service; rejoining %d calls", self.display_name, len(self._calls)
            )
            for call in list(self._calls.values()):
                await call._rejoin()
            return

    async def _end_calls(self, reason: CallEndReason) -> None:
        for call in list(self._calls.values()):
            await call._finish(reason)

    async def _stop_token_keeper(self) -> None:
        task, self._token_keeper = self._token_keeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _dispose(self) -> None:
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        await self._stop_token_keeper()
        await asyncio.gather(*(call._hang_up(False) for call in list(self._calls.values())), return_exceptions=True)
        await self._signaling.close()

    def _set_connection_state(self, state: ConnectionState) -> None:
        if state is not self._connection_state:
            previous, self._connection_state = self._connection_state, state
            self._emit("connection_state_changed", ValueChanged(state, previous))

    def __repr__(self) -> str:
        return f"CallAgent({self.display_name!r}, {self._connection_state.value})"
