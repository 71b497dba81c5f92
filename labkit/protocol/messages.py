"""The signaling protocol between call agents and the service: every message, validated.

Messages are JSON text frames over one WebSocket, each an object with a ``type``. Field
names are camelCase on the wire. A client may put a ``ref`` string on any message; the
service echoes it on the reply or error that the message causes. See ``docs/protocol.md``.

Why one module of some 600 lines: this is the wire format's single source of truth. Every
message type, its fields and limits, and the two unions the parsers validate against must
change together (and with ``docs/protocol.md``); spread over modules, one could change
without the others.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from ..errors import ArgumentError, ErrorCode, LabkitError
from ..states import RemoteParticipantState
from .end_reasons import CallEndReason

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
"""Larger text frames get a ``message-too-large`` error and are dropped; the connection stays."""
HARD_FRAME_LIMIT_BYTES = 1024 * 1024
"""Frames beyond this close the connection (WebSocket close code 1009)."""
MAX_PARTICIPANTS = 64
"""Most participants in one call at the service. The media mesh sets its own, lower cap."""

CLOSE_REFUSED = 4401
"""WebSocket close code after a refused sign-in, or when the user's tokens are revoked or the user deleted."""
CLOSE_REPLACED = 4409
"""WebSocket close code when the same user signs in elsewhere."""
FINAL_CLOSE_CODES = frozenset({CLOSE_REFUSED, CLOSE_REPLACED})
"""Closes that reconnecting cannot mend (agents reconnect after any other)."""

SFU_ID = "sfu"
"""Whom a member of an SFU call signals its publishing offer to, and who answers it (user ids start with 8:)."""
MediaRouteKind = Literal["mesh", "sfu"]
"""How a call's media travels: ``mesh`` (a peer connection per pair), ``sfu`` (through the service's Janus)."""

MAX_USER_ID_LENGTH = 256
MAX_DISPLAY_NAME_LENGTH = 256
MAX_RING_TIMEOUT = 600.0
"""Seconds; longer ring timeouts are refused."""

UserId = Annotated[str, Field(min_length=1, max_length=MAX_USER_ID_LENGTH)]


def _guid(value: str) -> str:
    try:
        return str(uuid.UUID(value)) if len(value) == 36 else _not_guid(value)
    except ValueError:
        return _not_guid(value)


def _not_guid(value: str) -> str:
    raise ValueError(f"must be a GUID such as {uuid.uuid4()}, not {value[:40]!r}")


CallId = Annotated[str, AfterValidator(_guid)]
DisplayName = Annotated[str, Field(max_length=MAX_DISPLAY_NAME_LENGTH)]
Ref = Annotated[str, Field(max_length=128)]


def checked_user_id(value: object) -> str:
    """``value`` if it can be sent as a user id; else ``ArgumentError`` saying why (the calling API's check)."""
    if not isinstance(value, str) or not value:
        raise ArgumentError(
            f"A user id is a non-empty string such as '8:acs:...', not {_shown(value)}.",
            "Pass agent.identifier, a user id string or {'communicationUserId': '8:acs:...'}.",
        )
    if len(value) > MAX_USER_ID_LENGTH:
        raise ArgumentError(f"A user id has at most {MAX_USER_ID_LENGTH} characters; this one has {len(value)}.")
    _check_unicode(value, "A user id")
    return value


def checked_display_name(value: object) -> str:
    """``value`` if it can be sent as a display name; else ``ArgumentError``."""
    if not isinstance(value, str):
        raise ArgumentError(f"A display name is a string, not {_shown(value)}.")
    if len(value) > MAX_DISPLAY_NAME_LENGTH:
        raise ArgumentError(
            f"A display name has at most {MAX_DISPLAY_NAME_LENGTH} characters; this one has {len(value)}."
        )
    _check_unicode(value, "A display name")
    return value


def checked_ring_timeout(value: object) -> float:
    """``value`` in seconds if the service takes it as a ring timeout (above 0, at most 600)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_RING_TIMEOUT:
        raise ArgumentError(
            f"ring_timeout is a number of seconds above 0 and at most {MAX_RING_TIMEOUT:g}, not {value!r}."
        )
    return float(value)


def is_unicode(text: str) -> bool:
    """False for text that cannot go on the wire (JSON lets a lone surrogate in; UTF-8 cannot carry it)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_unicode(value: str, what: str) -> None:
    if not is_unicode(value):
        raise ArgumentError(f"{what} must be valid Unicode; {value[:40]!r} holds a lone surrogate.")


def _shown(value: object) -> str:
    return f"{type(value).__name__} {str(value)[:40]!r}"


class MessageType(StrEnum):
    """Every message type, in both directions."""

    # agent -> service
    SIGN_IN = "sign-in"
    START_CALL = "start-call"
    JOIN = "join"
    RINGING = "ringing"
    ACCEPT = "accept"
    REJECT = "reject"
    HANG_UP = "hang-up"
    ADD_PARTICIPANT = "add-participant"
    REMOVE_PARTICIPANT = "remove-participant"
    SIGNAL = "signal"
    UPDATE_STATE = "update-state"
    REFRESH_TOKEN = "refresh-token"
    REJOIN = "rejoin"
    PING = "ping"
    # service -> agent
    SIGNED_IN = "signed-in"
    ERROR = "error"
    INCOMING_CALL = "incoming-call"
    ROSTER = "roster"
    PARTICIPANT_JOINED = "participant-joined"
    PARTICIPANT_UPDATED = "participant-updated"
    PARTICIPANT_LEFT = "participant-left"
    CALL_ENDED = "call-ended"
    MEDIA_ROUTE = "media-route"
    TOKEN_REFRESHED = "token-refreshed"
    PONG = "pong"


class Message(BaseModel):
    """Base of every message: camelCase aliases, unknown fields refused, frozen."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class EndReason(Message):
    """``CallEndReason`` on the wire."""

    code: int
    sub_code: int
    message: str = ""

    @classmethod
    def of(cls, reason: CallEndReason) -> EndReason:
        return cls(code=reason.code, sub_code=reason.sub_code, message=reason.message)

    def to_reason(self) -> CallEndReason:
        return CallEndReason(self.code, self.sub_code, self.message)


class Participant(Message):
    """What every member is told about another member."""

    user_id: UserId
    display_name: DisplayName = ""
    state: RemoteParticipantState
    is_muted: bool = False
    is_video_on: bool = False
    is_on_hold: bool = False
    is_recording: bool = False
    """The member is recording the call (everyone is told, as ACS tells everyone)."""
    can_roll_back: bool = False
    """The member's agent can roll back an offer, so it is the polite side when offers cross."""


class SessionDescription(Message):
    """An SDP offer or answer (W3C ``RTCSessionDescriptionInit``)."""

    kind: Literal["offer", "answer"]
    sdp: Annotated[str, Field(min_length=1, max_length=60_000)]


class IceCandidate(Message):
    """A trickled ICE candidate (W3C ``RTCIceCandidateInit``); an empty ``candidate`` ends gathering."""

    kind: Literal["candidate"]
    candidate: Annotated[str, Field(max_length=1024)]
    sdp_mid: Annotated[str, Field(max_length=64)] | None = None
    sdp_m_line_index: Annotated[int, Field(ge=0, le=64)] | None = None


class NegotiationNeeded(Message):
    """Ask the peer to send an offer (W3C ``negotiationneeded``, forwarded to the side that offers).

    Between two agents that cannot roll back, only the one that sent the first offer offers
    again; the other asks it with this, so offers never cross.
    """

    kind: Literal["negotiation-needed"]


class OfferRefused(Message):
    """The answer to an offer that cannot be answered (SIP 488 Not Acceptable Here).

    ``code`` is ``offer-not-acceptable``; ``message`` says what was wrong and ``hint`` what is
    accepted. The refusing side then hangs up with the end reason 488/0.
    """

    kind: Literal["error"]
    code: Annotated[str, Field(max_length=64)]
    message: Annotated[str, Field(max_length=1000)]
    hint: Annotated[str, Field(max_length=1000)] | None = None


SignalPayload = Annotated[
    SessionDescription | IceCandidate | NegotiationNeeded | OfferRefused, Field(discriminator="kind")
]


# --- agent -> service ---------------------------------------------------------------------


class SignIn(Message):
    """First message on a connection: authenticate with an access token."""

    type: Literal[MessageType.SIGN_IN] = MessageType.SIGN_IN
    ref: Ref | None = None
    token: Annotated[str, Field(max_length=8192)]
    display_name: DisplayName = ""
    protocol_version: int = PROTOCOL_VERSION
    can_roll_back: bool = False
    """True for agents that can roll back an offer (browsers); labkit's aiortc agents cannot."""


class StartCall(Message):
    """Call one user (1:1) or several (an ad-hoc group). ACS: ``startCall``. Needs ``voip``."""

    type: Literal[MessageType.START_CALL] = MessageType.START_CALL
    ref: Ref | None = None
    call_id: CallId
    participants: Annotated[list[UserId], Field(min_length=1, max_length=MAX_PARTICIPANTS - 1)]
    video: bool = False
    ring_timeout: Annotated[float, Field(gt=0, le=MAX_RING_TIMEOUT)] = 30.0

    @field_validator("participants")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("participants must be distinct")
        return value


class Join(Message):
    """Join (or open) the group call named by a GUID. ACS: ``join({groupId})``."""

    type: Literal[MessageType.JOIN] = MessageType.JOIN
    ref: Ref | None = None
    group_id: CallId
    video: bool = False


class Rejoin(Message):
    """After reconnecting (the service restarted, or the connection dropped): "I am still in this call".

    The media is peer to peer and may have carried on; this restores the call's signaling.
    The service rebuilds a call it no longer knows from its members' rejoins: the first one
    names the others (``participants``), and only those may rejoin a 1:1 call.
    """

    type: Literal[MessageType.REJOIN] = MessageType.REJOIN
    ref: Ref | None = None
    call_id: CallId
    group_id: CallId | None = None
    is_group_call: bool = False
    participants: Annotated[list[UserId], Field(max_length=MAX_PARTICIPANTS - 1)]
    """The other members, as this agent knows them."""
    is_muted: bool = False
    is_video_on: bool = False
    is_on_hold: bool = False


class Ringing(Message):
    """The callee's agent reports that the incoming call is being shown."""

    type: Literal[MessageType.RINGING] = MessageType.RINGING
    ref: Ref | None = None
    call_id: CallId


class Accept(Message):
    """Accept an incoming call. ACS: ``IncomingCall.accept``."""

    type: Literal[MessageType.ACCEPT] = MessageType.ACCEPT
    ref: Ref | None = None
    call_id: CallId
    video: bool = False


class Reject(Message):
    """Decline an incoming call. ACS: ``IncomingCall.reject``."""

    type: Literal[MessageType.REJECT] = MessageType.REJECT
    ref: Ref | None = None
    call_id: CallId


class HangUp(Message):
    """Leave a call, cancel an unanswered one, or end it for everyone. ACS: ``hangUp({forEveryone})``."""

    type: Literal[MessageType.HANG_UP] = MessageType.HANG_UP
    ref: Ref | None = None
    call_id: CallId
    for_everyone: bool = False
    reason: EndReason | None = None
    """Why, when the media failed (488/0, 410/3100, 410/3101): the others see this reason."""


class AddParticipant(Message):
    """Invite one more user into a call. ACS: ``addParticipant``. Needs ``voip``."""

    type: Literal[MessageType.ADD_PARTICIPANT] = MessageType.ADD_PARTICIPANT
    ref: Ref | None = None
    call_id: CallId
    user_id: UserId
    ring_timeout: Annotated[float, Field(gt=0, le=MAX_RING_TIMEOUT)] = 30.0


class RemoveParticipant(Message):
    """Remove a user from a call. ACS: ``removeParticipant``."""

    type: Literal[MessageType.REMOVE_PARTICIPANT] = MessageType.REMOVE_PARTICIPANT
    ref: Ref | None = None
    call_id: CallId
    user_id: UserId


class Signal(Message):
    """WebRTC negotiation for one peer connection: relayed verbatim to ``to`` (from ``from``)."""

    type: Literal[MessageType.SIGNAL] = MessageType.SIGNAL
    ref: Ref | None = None
    call_id: CallId
    to: UserId | None = None
    from_: UserId | None = Field(default=None, alias="from")
    payload: SignalPayload


class UpdateState(Message):
    """Tell the other members about this agent's mute, video, hold, recording or display name."""

    type: Literal[MessageType.UPDATE_STATE] = MessageType.UPDATE_STATE
    ref: Ref | None = None
    call_id: CallId
    is_muted: bool | None = None
    is_video_on: bool | None = None
    is_on_hold: bool | None = None
    is_recording: bool | None = None
    display_name: DisplayName | None = None


class RefreshToken(Message):
    """Replace this connection's token with a fresher one of the same user, before it expires.

    ACS: what ``AzureCommunicationTokenCredential``'s ``tokenRefresher`` is for. Answered by
    ``token-refreshed``; a refused token gets an ``error`` and the old one stays.
    """

    type: Literal[MessageType.REFRESH_TOKEN] = MessageType.REFRESH_TOKEN
    ref: Ref | None = None
    token: Annotated[str, Field(max_length=8192)]


class Ping(Message):
    """Keep-alive; answered by ``pong``."""

    type: Literal[MessageType.PING] = MessageType.PING
    ref: Ref | None = None


# --- service -> agent ---------------------------------------------------------------------


IceTransportPolicy = Literal["all", "relay"]
"""W3C ``iceTransportPolicy``: ``relay`` uses only relayed (TURN) candidates."""


class IceServer(Message):
    """A STUN or TURN server (W3C ``RTCIceServer``; ACS ``CommunicationIceServer``)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class SignedIn(Message):
    """Sign-in succeeded."""

    type: Literal[MessageType.SIGNED_IN] = MessageType.SIGNED_IN
    ref: Ref | None = None
    user_id: UserId
    display_name: DisplayName
    scopes: list[str]
    protocol_version: int = PROTOCOL_VERSION
    service_version: str
    ice_servers: list[IceServer] = []
    """STUN and TURN servers for this agent's calls, with TURN credentials that expire."""
    ice_transport_policy: IceTransportPolicy = "all"
    sfu_above: int | None = None
    """Group calls with more members than this go through the service's SFU (``None``: it has none)."""


class Error(Message):
    """Something the agent sent was refused; ``code`` is an ``ErrorCode``."""

    type: Literal[MessageType.ERROR] = MessageType.ERROR
    ref: Ref | None = None
    code: str
    message: str
    hint: str | None = None
    call_id: str | None = None

    @classmethod
    def of(cls, error: LabkitError, ref: str | None = None, call_id: str | None = None) -> Error:
        return cls(code=error.code.value, message=error.message, hint=error.hint, ref=ref, call_id=call_id)


class IncomingCall(Message):
    """Somebody is calling this agent. ACS: the ``incomingCall`` event."""

    type: Literal[MessageType.INCOMING_CALL] = MessageType.INCOMING_CALL
    call_id: CallId
    caller: Participant
    video: bool
    is_group_call: bool
    participants: list[Participant]


class Roster(Message):
    """The full member list, sent when this agent becomes connected to a call.

    The receiver then sends an SDP offer to every ``Connected`` participant (the mesh rule:
    whoever arrives offers).
    """

    type: Literal[MessageType.ROSTER] = MessageType.ROSTER
    ref: Ref | None = None
    call_id: CallId
    group_id: CallId | None = None
    is_group_call: bool
    participants: list[Participant]
    rejoined: bool = False
    """The answer to a ``rejoin``: the peer links exist already, so nobody offers."""
    media: MediaRouteKind = "mesh"
    """``sfu``: publish once (an offer to ``SFU_ID``) and answer the SFU's offer for each participant."""


class ParticipantJoined(Message):
    """A new member: invited (``Connecting``/``Ringing``) or joined (``Connected``)."""

    type: Literal[MessageType.PARTICIPANT_JOINED] = MessageType.PARTICIPANT_JOINED
    call_id: CallId
    participant: Participant


class ParticipantUpdated(Message):
    """A member's state, mute, video, hold or display name changed."""

    type: Literal[MessageType.PARTICIPANT_UPDATED] = MessageType.PARTICIPANT_UPDATED
    call_id: CallId
    participant: Participant


class ParticipantLeft(Message):
    """A member left, declined, was removed, timed out or was disconnected."""

    type: Literal[MessageType.PARTICIPANT_LEFT] = MessageType.PARTICIPANT_LEFT
    call_id: CallId
    user_id: UserId
    reason: EndReason


class CallEnded(Message):
    """This agent's part in the call is over; ``reason`` says why."""

    type: Literal[MessageType.CALL_ENDED] = MessageType.CALL_ENDED
    call_id: CallId
    reason: EndReason


class MediaRoute(Message):
    """The call's media moves (it grew past the service's ``--sfu-above``): close the mesh links and publish."""

    type: Literal[MessageType.MEDIA_ROUTE] = MessageType.MEDIA_ROUTE
    call_id: CallId
    media: MediaRouteKind


class Pong(Message):
    type: Literal[MessageType.PONG] = MessageType.PONG
    ref: Ref | None = None


class TokenRefreshed(Message):
    """The connection now holds the new token; ``expires_on`` is when that one expires."""

    type: Literal[MessageType.TOKEN_REFRESHED] = MessageType.TOKEN_REFRESHED
    ref: Ref | None = None
    expires_on: datetime


AgentMessage = Annotated[
    SignIn
    | StartCall
    | Join
    | Ringing
    | Accept
    | Reject
    | HangUp
    | AddParticipant
    | RemoveParticipant
    | Signal
    | UpdateState
    | RefreshToken
    | Rejoin
    | Ping,
    Field(discriminator="type"),
]
ServiceMessage = Annotated[
    SignedIn
    | Error
    | IncomingCall
    | Roster
    | ParticipantJoined
    | ParticipantUpdated
    | ParticipantLeft
    | CallEnded
    | MediaRoute
    | Signal
    | TokenRefreshed
    | Pong,
    Field(discriminator="type"),
]

AGENT_MESSAGE_TYPES = frozenset(
    {
        MessageType.SIGN_IN,
        MessageType.START_CALL,
        MessageType.JOIN,
        MessageType.RINGING,
        MessageType.ACCEPT,
        MessageType.REJECT,
        MessageType.HANG_UP,
        MessageType.ADD_PARTICIPANT,
        MessageType.REMOVE_PARTICIPANT,
        MessageType.SIGNAL,
        MessageType.UPDATE_STATE,
        MessageType.REFRESH_TOKEN,
        MessageType.REJOIN,
        MessageType.PING,
    }
)
_agent_adapter: TypeAdapter[Any] = TypeAdapter(AgentMessage)
_service_adapter: TypeAdapter[Any] = TypeAdapter(ServiceMessage)


def _describe(exc: ValidationError, kind: str) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        loc = [str(p) for p in err["loc"]]
        where = ".".join(loc[1:] if loc[:1] == [kind] else loc)
        parts.append(f"{where or 'message'}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_agent_message(text: str | bytes) -> Message:
    """Parse and validate one agent message, raising ``LabkitError`` with the exact problem."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_MESSAGE_BYTES:
        raise LabkitError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"The message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}.",
            "Send smaller messages (trickle ICE candidates separately).",
        )
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LabkitError(ErrorCode.MALFORMED_MESSAGE, f"The message is not valid JSON: {exc}.") from None
    except RecursionError:
        raise LabkitError(
            ErrorCode.MALFORMED_MESSAGE,
            "The message's JSON is nested too deeply.",
            "No message nests more than 4 levels.",
        ) from None
    if not isinstance(raw, dict):
        raise LabkitError(ErrorCode.MALFORMED_MESSAGE, "A message must be a JSON object with a 'type'.")
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise LabkitError(ErrorCode.INVALID_MESSAGE, "The message has no 'type' string.")
    if kind not in AGENT_MESSAGE_TYPES:
        known = ", ".join(sorted(t.value for t in AGENT_MESSAGE_TYPES))
        raise LabkitError(ErrorCode.UNKNOWN_MESSAGE_TYPE, f"Unknown message type {kind!r}.", f"Known types: {known}.")
    try:
        message: Message = _agent_adapter.validate_python(raw)
    except ValidationError as exc:
        raise LabkitError(ErrorCode.INVALID_MESSAGE, f"Invalid {kind!r} message: {_describe(exc, kind)}.") from None
    except RecursionError:
        raise LabkitError(ErrorCode.MALFORMED_MESSAGE, f"The {kind!r} message is nested too deeply.") from None
    return message


def parse_service_message(text: str | bytes) -> Message:
    """Parse one service message (for clients); raises ``ValidationError`` or ``ValueError``."""
    result: Message = _service_adapter.validate_json(text)
    return result


def ref_of(text: str | bytes) -> str | None:
    """Best-effort ``ref`` of a message that failed validation, to echo it on the error.

    Only a ``ref`` that is valid on the wire is echoed (at most 128 characters of real Unicode:
    a lone surrogate cannot be sent back).
    """
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 128 and is_unicode(ref) else None
