"""The signed-in agent that makes and receives calls. ACS: ``CallAgent``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiortc import RTCConfiguration, RTCIceServer

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import ArgumentError, ErrorCode, LabkitError, TokenError
from ..identity import CommunicationUserIdentifier
from ..media.engine import MediaEngine, log_failure
from ..media.ice import rtc_configuration
from ..media.peer_link import VIDEO_CODECS
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    FINAL_CLOSE_CODES,
    CallEnded,
    Message,
    RefreshToken,
    Reject,
    Ringing,
    checked_ring_timeout,
)
from ..protocol.messages import (
    IncomingCall as IncomingCallMessage,
)
from ..protocol.signaling_client import SignalingClient
from ..states import CallDirection, ConnectionState
from . import call_messages
from .call import Call
from .call_host import CallHost
from .call_options import AudioOptions, Participant, VideoOptions, audio_options, user_id_of, video_options
from .call_session import CallSession
from .device_manager import DeviceManager
from .event_emitter import CollectionUpdated, Emitter, EventDispatcher, ValueChanged
from .incoming_call import IncomingCall
from .local_video_stream import LocalVideoStream
from .token_credential import TokenCredential
from .token_keeper import TokenKeeper

if TYPE_CHECKING:
    from collections.abc import Coroutine

logger = logging.getLogger(__name__)

RECONNECT_FIRST_DELAY = 0.25
RECONNECT_MAX_DELAY = 4.0
"""Reconnecting waits 0.25 s, then twice as long each time, up to this."""
RECONNECT_GIVE_UP = 120.0
"""Seconds without the service after which the calls that went on without it end (410/3100);
the agent itself keeps trying, every ``RECONNECT_MAX_DELAY`` seconds, until it is disposed."""


@dataclass(frozen=True, slots=True)
class IncomingCallEvent:
    """The ``incoming_call`` event's argument. ACS: ``{ incomingCall }``."""

    incoming_call: IncomingCall


CallAgentEventName = Literal["incoming_call", "calls_updated", "connection_state_changed"]
"""The events of ``CallAgent``."""


class CallAgent(Emitter[CallAgentEventName]):
    """Makes calls (``start_call``, ``join``) and receives them (the ``incoming_call`` event).

    Events: ``incoming_call`` (``IncomingCallEvent``), ``calls_updated``
    (``CollectionUpdated`` of calls) and ``connection_state_changed`` (``ValueChanged``).
    """

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
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(dispatcher)
        self._engine = engine
        self._devices = devices
        self._credential = credential
        self._service_ice_servers = service_ice_servers
        """Use the STUN and TURN servers the service gives at sign-in (unless the client was given some)."""
        self._token_keeper = TokenKeeper(credential, clock, self._send_token, display_name)
        self.endpoint = endpoint
        self._signaling = SignalingClient(endpoint, on_message=self._on_message, on_close=self._on_close)
        self._host = CallHost(
            engine,
            dispatcher,
            devices,
            credential,
            self._signaling,
            rtc_configuration,
            checked_ring_timeout(ring_timeout),
            display_name=display_name,
            clock=clock,
            on_call_ended=self._forget,
        )
        self._identifier: CommunicationUserIdentifier | None = None
        self._calls: dict[str, CallSession] = {}
        self._incoming: dict[str, IncomingCall] = {}
        self._invitations: dict[str, list[tuple[float, Literal["sent", "received"], Message]]] = {}
        self._handed_out: weakref.WeakSet[IncomingCall] = weakref.WeakSet()
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
    def display_name(self) -> str:
        """The name the others see (the service's, once signed in)."""
        return self._host.display_name

    @property
    def calls(self) -> tuple[Call, ...]:
        """Calls not yet disconnected. ACS: ``calls``."""
        return tuple(session.call for session in self._calls.values())

    @property
    def ring_timeout(self) -> float:
        """Seconds this agent's outgoing calls ring before they end with 408 (above 0, at most 600)."""
        return self._host.ring_timeout

    @ring_timeout.setter
    def ring_timeout(self, seconds: float) -> None:
        self._host.ring_timeout = checked_ring_timeout(seconds)

    @property
    def video_codecs(self) -> tuple[str, ...]:
        """The video codecs this agent's calls offer, first preferred (W3C ``setCodecPreferences``); VP8 unless set.

        An agent that answers takes the offer's first codec it can decode (VP8 or H264), so
        between two labkit agents the one that offers chooses. Applies to calls started after.
        """
        return self._host.video_codecs

    @video_codecs.setter
    def video_codecs(self, codecs: Sequence[str]) -> None:
        chosen = tuple(codecs) if not isinstance(codecs, str) else (codecs,)
        if not chosen or len(set(chosen)) != len(chosen) or not set(chosen) <= set(VIDEO_CODECS):
            raise ArgumentError(
                f"video_codecs is a non-empty ordered choice of {', '.join(VIDEO_CODECS)}, e.g. ('H264', 'VP8'); "
                f"got {codecs!r}."
            )
        self._host.video_codecs = chosen

    @property
    def rtc_configuration(self) -> RTCConfiguration:
        """The ICE servers and policy this agent's calls use (from the service at sign-in, or the client's)."""
        return self._host.rtc_configuration

    @property
    def connection_state(self) -> ConnectionState:
        return self._host.connection_state

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
        call_id = group_id or str(uuid.uuid4())
        session = self._new_session(call_id, CallDirection.OUTGOING, audio, video)
        work = self._engine.submit(session.start_outgoing(user_ids, group_id=group_id))
        work.add_done_callback(log_failure(f"starting call {call_id[:8]}"))
        return session.call

    async def _accept(
        self,
        incoming: IncomingCall,
        audio: AudioOptions | dict[str, Any] | None,
        video: VideoOptions | LocalVideoStream | dict[str, Any] | None,
    ) -> Call:
        """Answer ``incoming``: the agent alone makes calls (``IncomingCall.accept`` asks it to)."""
        session = self._new_session(incoming.id, CallDirection.INCOMING, audio, video)
        for at, direction, message in self._invitations.pop(incoming.id, []):
            session.note(direction, message, at)  # the call's signaling began with the invitation
        await self._run(session.accept())
        return session.call

    def _new_session(
        self,
        call_id: str,
        direction: CallDirection,
        audio: AudioOptions | dict[str, Any] | None,
        video: VideoOptions | LocalVideoStream | dict[str, Any] | None,
    ) -> CallSession:
        streams = video_options(video).local_video_streams
        muted = audio_options(audio).muted
        session = CallSession(self._host, call_id, direction, muted=muted, video=streams[0] if streams else None)
        self._track(session)
        return session

    async def _reject(self, incoming: IncomingCall) -> None:
        await self._run(self._host.send(Reject(call_id=incoming.id)))

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        self._dispatcher.bind()
        return await self._engine.run(coro)

    async def _connect(self) -> None:
        host = self._host
        token = await self._credential.get_token(now=host.clock.now())
        signed_in = await self._signaling.connect(token, host.display_name)
        if self._service_ice_servers:  # fresh TURN credentials at every sign-in
            servers = [RTCIceServer(s.urls, s.username, s.credential) for s in signed_in.ice_servers]
            host.rtc_configuration = rtc_configuration(servers, signed_in.ice_transport_policy)
        self._identifier = CommunicationUserIdentifier(signed_in.user_id)
        host.user_id = signed_in.user_id
        host.display_name = signed_in.display_name
        host.sfu_above = signed_in.sfu_above
        self._set_connection_state(ConnectionState.CONNECTED)
        self._token_keeper.start()

    async def _request(self, message: Message) -> Message:
        return await self._host.request(message)

    async def _send_token(self, token: str) -> None:
        await self._request(RefreshToken(token=token))

    def _track(self, session: CallSession) -> None:
        self._calls[session.id] = session
        self.emit("calls_updated", CollectionUpdated(added=(session.call,)))

    def _forget(self, call_id: str) -> None:
        session = self._calls.pop(call_id, None)
        if session is not None:
            self.emit("calls_updated", CollectionUpdated(removed=(session.call,)))

    def _on_microphone_changed(self, _: object) -> None:
        for session in list(self._calls.values()):
            self._engine.call_soon(session.mesh.switch_microphone)

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, IncomingCallMessage):
            incoming = IncomingCall(self._host.dispatcher, message, self._accept, self._reject)
            self._incoming[message.call_id] = incoming
            ringing = Ringing(call_id=message.call_id)
            self._invitations[message.call_id] = [
                (time.monotonic(), "received", message),
                (time.monotonic(), "sent", ringing),
            ]
            with contextlib.suppress(LabkitError, ConnectionError):
                await self._signaling.send(ringing)
            self.emit("incoming_call", IncomingCallEvent(incoming))
            return
        call_id = getattr(message, "call_id", None)
        if call_id is None:
            return
        session = self._calls.get(call_id)
        if session is not None:
            await call_messages.on_message(session, message)
        elif isinstance(message, CallEnded):
            pending = self._incoming.pop(call_id, None)
            if pending is not None:
                pending.end(message.reason.to_reason())
        if isinstance(message, CallEnded):
            self._incoming.pop(call_id, None)
            self._invitations.pop(call_id, None)

    async def _on_close(self, code: int | None) -> None:
        """The signaling connection closed: calls whose media is up go on while the agent reconnects.

        ACS keeps calls through a signaling outage too. Calls still ringing or connecting need
        the service, so they end (410/3100); so does everything when the close is final (a
        refused or revoked token, or a sign-in elsewhere).
        """
        self._set_connection_state(ConnectionState.DISCONNECTED)
        await self._token_keeper.stop()
        if self._disposed or (self._reconnecting is not None and not self._reconnecting.done()):
            return  # disposed, or a reconnection attempt that failed: the reconnect loop goes on
        final = code in FINAL_CLOSE_CODES
        logger.warning(
            "the connection to the labkit service closed (code %s)%s", code, "" if final else "; reconnecting"
        )
        for incoming in list(self._incoming.values()):
            incoming.end(end_reasons.NETWORK)
        self._incoming.clear()
        self._invitations.clear()
        for session in list(self._calls.values()):
            if final or not session.is_established:
                await session.finish(end_reasons.NETWORK)
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
            self._host.transport = self._signaling
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
            for session in list(self._calls.values()):
                await session.rejoin()
            return

    async def _end_calls(self, reason: CallEndReason) -> None:
        for session in list(self._calls.values()):
            await session.finish(reason)

    async def _dispose(self) -> None:
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        await self._token_keeper.stop()
        sessions = list(self._calls.values())
        await asyncio.gather(*(session.hang_up(False) for session in sessions), return_exceptions=True)
        await self._signaling.close()

    def _set_connection_state(self, state: ConnectionState) -> None:
        if state is not self._host.connection_state:
            previous, self._host.connection_state = self._host.connection_state, state
            self.emit("connection_state_changed", ValueChanged(state, previous))

    def __repr__(self) -> str:
        return f"CallAgent({self.display_name!r}, {self._host.connection_state.value})"
