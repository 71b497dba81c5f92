"""The WebSocket endpoint for call agents: sign-in, then validated messages to the switchboard."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from .._version import __version__
from ..errors import ErrorCode, LabkitError
from ..protocol.messages import (
    CLOSE_REFUSED,
    CLOSE_REPLACED,
    HARD_FRAME_LIMIT_BYTES,
    PROTOCOL_VERSION,
    AddParticipant,
    Error,
    Join,
    Rejoin,
    SignedIn,
    SignIn,
    StartCall,
    parse_agent_message,
    ref_of,
)
from .agent_connection import AgentConnection
from .app_keys import CONNECTIONS_KEY, DIRECTORY_KEY, LIMITS_KEY, RELAY_KEY, SWITCHBOARD_KEY
from .limits import ServiceLimits, TokenBucket
from .relay import RelayConfiguration
from .switchboard import Switchboard

logger = logging.getLogger(__name__)

SIGN_IN_TIMEOUT = 10.0
"""Seconds a new connection has to send a valid ``sign-in``."""


async def handle_agent_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /ws``: one call agent's signaling connection."""
    switchboard = request.app[SWITCHBOARD_KEY]
    limits = request.app[LIMITS_KEY]
    ws = web.WebSocketResponse(max_msg_size=HARD_FRAME_LIMIT_BYTES, heartbeat=30.0)
    await ws.prepare(request)
    agent = AgentConnection(ws, request.remote or "?", limits.outbox_messages, request.transport)
    pace = _Pace(agent, limits)
    connections = request.app[CONNECTIONS_KEY]
    connections.add(agent)
    try:
        if await _sign_in(agent, switchboard, request.app[RELAY_KEY], pace):
            await _serve(agent, switchboard, pace)
    finally:
        connections.discard(agent)
        if agent.is_signed_in:
            switchboard.unregister(agent)
            request.app[DIRECTORY_KEY].seen(agent.user_id)  # its name stays held a while for it
            logger.info("agent %s (%s) signed out", agent.user_id, agent.display_name)
        await agent.close()
    return ws


class _Pace:
    """One agent's share of the service: its messages and invitations are rate-limited, and after
    each message the other connections' writers run (fair scheduling), so one sender's burst can
    never queue up more for another agent than that agent's own reading drains."""

    def __init__(self, agent: AgentConnection, limits: ServiceLimits) -> None:
        self.agent = agent
        self.messages = TokenBucket(limits.messages_per_second, limits.message_burst)
        self.invitations = TokenBucket(limits.invitations_per_second, limits.invitation_burst)

    async def admit(self, bucket: TokenBucket, what: str) -> None:
        """Wait until ``bucket`` allows one more (the sender's frames wait meanwhile: it is throttled)."""
        delay = bucket.take()
        if delay > 0:
            if self.agent.should_notice_throttling():
                logger.info(
                    "agent %s (%s) is sending %s too fast; slowing it down", self.agent.user_id, self.agent.remote, what
                )
                self.agent.send(
                    Error(
                        code=ErrorCode.RATE_LIMITED.value,
                        message=f"You send {what} faster than {bucket.rate:g} a second; "
                        "the service handles them more slowly now.",
                        hint="Nothing is lost, but wait for replies before sending more.",
                    )
                )
            await asyncio.sleep(delay)

    async def done(self) -> None:
        """After each message: let every other task (the writers above all) run before the next one."""
        await asyncio.sleep(0)


async def _sign_in(agent: AgentConnection, switchboard: Switchboard, relay: RelayConfiguration, pace: _Pace) -> bool:
    """Wait for a valid ``sign-in``; every other message gets ``not-signed-in``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SIGN_IN_TIMEOUT
    while True:
        try:
            msg = await agent.ws.receive(timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            _refuse(agent, LabkitError(ErrorCode.SIGN_IN_TIMEOUT, f"No sign-in within {SIGN_IN_TIMEOUT:g} s."), None)
            return False
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return False
        await pace.admit(pace.messages, "messages")
        text = _text_of(agent, msg)
        if text is None:
            continue
        try:
            message = parse_agent_message(text)
            if not isinstance(message, SignIn):
                raise LabkitError(
                    ErrorCode.NOT_SIGNED_IN, "Sign in first.", "Send a 'sign-in' message with your token."
                )
        except LabkitError as exc:
            agent.send(Error.of(exc, ref=ref_of(text)))
            continue
        except Exception:  # a bug must not close the connection without a word
            logger.exception("internal error reading a sign-in from %s", agent.remote)
            agent.send(Error(code=ErrorCode.INTERNAL_ERROR.value, message="The service failed to read that message."))
            continue
        try:
            _check_sign_in(agent, switchboard, message)
        except LabkitError as exc:
            _refuse(agent, exc, message.ref)
            return False
        replaced = switchboard.register(agent)
        if replaced is not None:
            replaced.send(
                Error(
                    code=ErrorCode.SIGNED_IN_ELSEWHERE.value,
                    message="You signed in again elsewhere; this connection is closed.",
                )
            )
            replaced.close_soon(CLOSE_REPLACED, "signed in elsewhere")
        assert agent.claims is not None
        agent.send(
            SignedIn(
                ref=message.ref,
                user_id=agent.user_id,
                display_name=agent.display_name,
                scopes=[s.value for s in agent.claims.scopes],
                service_version=__version__,
                ice_servers=relay.ice_servers(agent.user_id),
                ice_transport_policy=relay.transport_policy,
                sfu_above=switchboard.routing.sfu_above if switchboard.routing.sfu is not None else None,
            )
        )
        logger.info("agent %s (%s) signed in from %s", agent.user_id, agent.display_name, agent.remote)
        return True


def _check_sign_in(agent: AgentConnection, switchboard: Switchboard, message: SignIn) -> None:
    if message.protocol_version != PROTOCOL_VERSION:
        raise LabkitError(
            ErrorCode.PROTOCOL_VERSION_UNSUPPORTED,
            f"Protocol version {message.protocol_version} is not supported; this service speaks {PROTOCOL_VERSION}.",
            "Upgrade labkit on the agent or the service so that they match.",
        )
    claims = switchboard.identity.verify_token(message.token)
    claims.require_calling()
    agent.claims = claims
    agent.display_name = message.display_name or claims.user.id
    agent.can_roll_back = message.can_roll_back


def _refuse(agent: AgentConnection, error: LabkitError, ref: str | None) -> None:
    logger.info("refused sign-in from %s: %s", agent.remote, error.code.value)
    agent.send(Error.of(error, ref=ref))
    agent.close_soon(CLOSE_REFUSED, error.code.value)


async def _serve(agent: AgentConnection, switchboard: Switchboard, pace: _Pace) -> None:
    async for msg in agent.ws:
        if msg.type is WSMsgType.ERROR:
            return
        await pace.admit(pace.messages, "messages")
        text = _text_of(agent, msg)
        if text is None:
            await pace.done()
            continue
        ref: str | None = None
        try:
            message = parse_agent_message(text)
            ref = getattr(message, "ref", None)
            if isinstance(message, SignIn):
                raise LabkitError(ErrorCode.ALREADY_SIGNED_IN, f"You are already signed in as {agent.user_id}.")
            if isinstance(message, StartCall | AddParticipant | Join | Rejoin):
                await pace.admit(pace.invitations, "invitations (start-call, add-participant, join)")
            if agent.ws.closed:
                return
            switchboard.handle(agent, message)
        except LabkitError as exc:
            agent.send(Error.of(exc, ref=ref or ref_of(text), call_id=getattr(exc, "call_id", None)))
        except Exception:  # a bug must not take the connection or the service down
            logger.exception("internal error handling a message from %s", agent.user_id)
            agent.send(
                Error(
                    code=ErrorCode.INTERNAL_ERROR.value, message="The service failed to handle that message.", ref=ref
                )
            )
        await pace.done()


def _text_of(agent: AgentConnection, msg: object) -> str | None:
    """The text of a frame, or ``None`` after telling the agent why it was not text."""
    kind = getattr(msg, "type", None)
    if kind is WSMsgType.TEXT:
        data = getattr(msg, "data", "")
        return data if isinstance(data, str) else None
    if kind is WSMsgType.BINARY:
        agent.send(
            Error.of(LabkitError(ErrorCode.MALFORMED_MESSAGE, "Binary frames are not supported; send JSON text."))
        )
    return None
