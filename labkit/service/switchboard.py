"""Routes call signaling between signed-in agents and keeps every call's roster.

All methods run on the service's event loop; nothing here blocks or awaits the network.

Why one module of some 500 lines: it is one state machine. Each handler changes the same
calls and rosters, and the rules between them (who rings, who is told, when a call
ends) only read true side by side; ``call_record`` holds the data, ``agent_connection``
the sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime

from ..errors import ErrorCode, LabkitError, TokenError
from ..identity import IdentityClient, TokenScope
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    CLOSE_REFUSED,
    MAX_PARTICIPANTS,
    SFU_ID,
    Accept,
    AddParticipant,
    CallEnded,
    EndReason,
    Error,
    HangUp,
    IncomingCall,
    Join,
    MediaRoute,
    Message,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Ping,
    Pong,
    RefreshToken,
    Reject,
    Rejoin,
    RemoveParticipant,
    Ringing,
    Roster,
    Signal,
    StartCall,
    TokenRefreshed,
    UpdateState,
)
from ..states import RemoteParticipantState
from .agent_connection import AgentConnection
from .call_record import CallRecord, Member
from .media_routing import MediaRouting

logger = logging.getLogger(__name__)


class Switchboard:
    """The service's calling brain: who is online, which calls exist, who is in them."""

    def __init__(self, identity: IdentityClient, routing: MediaRouting | None = None) -> None:
        self.identity = identity
        self.routing = routing or MediaRouting()
        """Which calls go through the SFU, if the service has one."""
        if self.routing.sfu is not None:
            self.routing.sfu.send = self._send_to
            self.routing.sfu.on_lost = self._sfu_lost
        self.agents: dict[str, AgentConnection] = {}
        self.calls: dict[str, CallRecord] = {}
        self._calls_of: defaultdict[str, set[str]] = defaultdict(set)

    # --- agents ---------------------------------------------------------------------------

    def register(self, agent: AgentConnection) -> AgentConnection | None:
        """Make ``agent`` reachable by its user id; returns the connection it replaces."""
        previous = self.agents.get(agent.user_id)
        if previous is not None:
            self.unregister(previous)
        self.agents[agent.user_id] = agent
        return previous

    def unregister(self, agent: AgentConnection) -> None:
        """Remove ``agent`` from every call it is in (the others are told) and from the directory."""
        if self.agents.get(agent.user_id) is not agent:
            return
        del self.agents[agent.user_id]
        name = agent.display_name or agent.user_id
        lost = end_reasons.NETWORK.with_message(f"{name}'s connection to the service was lost.")
        for call_id in list(self._calls_of.get(agent.user_id, ())):
            call = self.calls.get(call_id)
            if call is not None and agent.user_id in call.members:
                self._leave(call, agent.user_id, lost, notify_leaver=False)

    def revoke(self, user_id: str, error: TokenError) -> None:
        """End ``user_id``'s live session: it is told why, its calls end with 495/4507, its connection closes."""
        agent = self.agents.get(user_id)
        if agent is None:
            return
        name = agent.display_name or user_id
        reason = end_reasons.INVALID_TOKEN.with_message(f"{name}'s access was revoked ({error.code.value}).")
        for call_id in list(self._calls_of.get(user_id, ())):
            call = self.calls.get(call_id)
            if call is not None and user_id in call.members:
                self._leave(call, user_id, reason)
        agent.send(Error.of(error))
        del self.agents[user_id]
        agent.close_soon(CLOSE_REFUSED, error.code.value)
        logger.info("agent %s (%s): session ended, %s", user_id, name, error.code.value)

    def user_exists(self, user_id: str) -> bool:
        return user_id in self.agents or self.identity.user_exists(user_id)

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, agent: AgentConnection, message: Message) -> None:
        """Act on one validated message from a signed-in agent; raises ``LabkitError`` to refuse it."""
        match message:
            case StartCall():
                self._start_call(agent, message)
            case Join():
                self._join(agent, message)
            case Ringing():
                self._ringing(agent, message)
            case Accept():
                self._accept(agent, message)
            case Reject():
                self._reject(agent, message)
            case HangUp():
                self._hang_up(agent, message)
            case AddParticipant():
                self._add_participant(agent, message)
            case RemoveParticipant():
                self._remove_participant(agent, message)
            case Signal():
                self._signal(agent, message)
            case UpdateState():
                self._update_state(agent, message)
            case RefreshToken():
                self._refresh_token(agent, message)
            case Rejoin():
                self._rejoin(agent, message)
            case Ping():
                agent.send(Pong(ref=message.ref))
            case _:
                raise LabkitError(ErrorCode.UNKNOWN_MESSAGE_TYPE, f"Unexpected {type(message).__name__} message.")

    # --- handlers -------------------------------------------------------------------------

    def _start_call(self, agent: AgentConnection, msg: StartCall) -> None:
        self._require_fresh_token(agent)
        self._require_voip(agent, "start calls")
        if msg.call_id in self.calls:
            raise LabkitError(ErrorCode.CALL_ID_IN_USE, f"Call id {msg.call_id} is already in use.", "Use a new GUID.")
        if agent.user_id in msg.participants:
            raise LabkitError(ErrorCode.INVALID_MESSAGE, "You cannot call yourself.")
        call = CallRecord(id=msg.call_id, video=msg.video, is_group=len(msg.participants) > 1)
        self._add_member(
            call,
            Member(
                agent.user_id,
                agent.display_name,
                RemoteParticipantState.CONNECTED,
                is_video_on=msg.video,
                can_roll_back=agent.can_roll_back,
            ),
        )
        callees = [
            Member(user_id, self._display_name_of(user_id), RemoteParticipantState.CONNECTING)
            for user_id in msg.participants
        ]
        for callee in callees:
            self._add_member(call, callee)
        self.calls[call.id] = call
        self.routing.update(call)
        agent.send(
            Roster(
                ref=msg.ref,
                call_id=call.id,
                is_group_call=call.is_group,
                participants=call.roster(),
                media=self.routing.route_of(call),
            )
        )
        for callee in callees:
            self._ring(call, callee, agent, msg.ring_timeout)
        self._settle(call)

    def _join(self, agent: AgentConnection, msg: Join) -> None:
        self._require_fresh_token(agent)
        call = self.calls.get(msg.group_id)
        if call is None:
            call = CallRecord(id=msg.group_id, video=msg.video, group_id=msg.group_id, is_group=True)
            self.calls[call.id] = call
        elif call.group_id is None:
            raise LabkitError(
                ErrorCode.CALL_ID_IN_USE, f"{msg.group_id} is a call id, not a group id.", "Use a new GUID."
            )
        member = Member(
            agent.user_id,
            agent.display_name,
            RemoteParticipantState.CONNECTED,
            is_video_on=msg.video,
            can_roll_back=agent.can_roll_back,
        )
        self._admit(agent, call, member, msg.ref)
        self._broadcast(call, ParticipantJoined(call_id=call.id, participant=member.to_wire()), besides=agent.user_id)

    def _rejoin(self, agent: AgentConnection, msg: Rejoin) -> None:
        """A member of a call the service lost (it restarted) or dropped comes back; its media went on."""
        call = self.calls.get(msg.call_id)
        if call is None:
            if msg.group_id is not None and msg.group_id != msg.call_id:
                raise LabkitError(ErrorCode.INVALID_MESSAGE, "A group call's callId is its groupId.")
            call = CallRecord(
                id=msg.call_id,
                video=msg.is_video_on,
                group_id=msg.group_id,
                is_group=msg.is_group_call or msg.group_id is not None,
                answered=True,
                restored_with={agent.user_id, *msg.participants},
            )
            self.calls[call.id] = call
        elif call.restored_with is None or (call.group_id is None and agent.user_id not in call.restored_with):
            raise LabkitError(
                ErrorCode.CALL_NOT_FOUND,
                f"Call {msg.call_id} went on without you.",
                "Its other members were told you left; start a new call.",
            )
        member = Member(
            agent.user_id,
            agent.display_name,
            RemoteParticipantState.CONNECTED,
            is_muted=msg.is_muted,
            is_video_on=msg.is_video_on,
            is_on_hold=msg.is_on_hold,
            can_roll_back=agent.can_roll_back,
        )
        self._admit(agent, call, member, msg.ref, rejoined=True)
        # the others know this member already (their media never stopped): an update, not a join
        self._broadcast(call, ParticipantUpdated(call_id=call.id, participant=member.to_wire()), besides=agent.user_id)

    def _admit(
        self, agent: AgentConnection, call: CallRecord, member: Member, ref: str | None, *, rejoined: bool = False
    ) -> None:
        """Make ``member`` (the agent itself) a connected member of ``call`` and send it the roster."""
        if agent.user_id in call.members:
            raise LabkitError(ErrorCode.ALREADY_IN_CALL, "You are already in this call.", call_hint(call.id))
        if len(call.members) >= MAX_PARTICIPANTS:
            raise LabkitError(ErrorCode.CALL_FULL, f"The call has {MAX_PARTICIPANTS} participants already.")
        self._add_member(call, member)
        self._route(call, besides=agent.user_id)
        agent.send(
            Roster(
                ref=ref,
                call_id=call.id,
                group_id=call.group_id,
                is_group_call=call.is_group,
                participants=call.roster(),
                rejoined=rejoined,
                media=self.routing.route_of(call),
            )
        )

    def _ringing(self, agent: AgentConnection, msg: Ringing) -> None:
        call, member = self._pending_member(agent, msg.call_id)
        if member.state is RemoteParticipantState.CONNECTING:
            member.state = RemoteParticipantState.RINGING
            self._broadcast(call, ParticipantUpdated(call_id=call.id, participant=member.to_wire()))

    def _accept(self, agent: AgentConnection, msg: Accept) -> None:
        self._require_fresh_token(agent)
        call, member = self._pending_member(agent, msg.call_id)
        member.stop_ringing()
        member.state = RemoteParticipantState.CONNECTED
        member.is_video_on = msg.video
        member.can_roll_back = agent.can_roll_back
        member.display_name = agent.display_name or member.display_name
        call.answered = True
        agent.send(
            Roster(
                ref=msg.ref,
                call_id=call.id,
                group_id=call.group_id,
                is_group_call=call.is_group,
                participants=call.roster(),
                media=self.routing.route_of(call),
            )
        )
        self._broadcast(call, ParticipantUpdated(call_id=call.id, participant=member.to_wire()), besides=agent.user_id)

    def _reject(self, agent: AgentConnection, msg: Reject) -> None:
        call, member = self._pending_member(agent, msg.call_id)
        self._decline(call, member)

    def _hang_up(self, agent: AgentConnection, msg: HangUp) -> None:
        call = self._call_of(agent, msg.call_id)
        member = call.members[agent.user_id]
        if not member.is_connected:
            self._decline(call, member)
        elif msg.for_everyone:
            self._end(call, agent.user_id)
        elif msg.reason is not None and any(msg.reason.to_reason().same_as(r) for r in end_reasons.MEDIA_FAILURES):
            self._leave(call, agent.user_id, msg.reason.to_reason())  # its media failed: the others see why
        else:
            self._leave(call, agent.user_id, end_reasons.LOCAL_HANG_UP.with_message(f"{_name(member)} hung up."))

    def _add_participant(self, agent: AgentConnection, msg: AddParticipant) -> None:
        self._require_voip(agent, "add participants")
        call = self._connected_call_of(agent, msg.call_id)
        if msg.user_id in call.members:
            raise LabkitError(ErrorCode.ALREADY_IN_CALL, f"{msg.user_id} is already in the call.")
        if len(call.members) >= MAX_PARTICIPANTS:
            raise LabkitError(ErrorCode.CALL_FULL, f"The call has {MAX_PARTICIPANTS} participants already.")
        call.is_group = True
        member = Member(msg.user_id, self._display_name_of(msg.user_id), RemoteParticipantState.CONNECTING)
        self._add_member(call, member)
        self._route(call)
        self._broadcast(call, ParticipantJoined(call_id=call.id, participant=member.to_wire()))
        self._ring(call, member, agent, msg.ring_timeout)

    def _remove_participant(self, agent: AgentConnection, msg: RemoveParticipant) -> None:
        call = self._connected_call_of(agent, msg.call_id)
        if msg.user_id not in call.members:
            raise LabkitError(
                ErrorCode.PARTICIPANT_NOT_IN_CALL, f"{msg.user_id} is not in the call.", call_hint(call.id)
            )
        if msg.user_id == agent.user_id:
            raise LabkitError(ErrorCode.INVALID_MESSAGE, "To remove yourself, hang up.")
        remover = _name(call.members[agent.user_id])
        self._leave(call, msg.user_id, end_reasons.REMOVED.with_message(f"{remover} removed you from the call."))

    def _signal(self, agent: AgentConnection, msg: Signal) -> None:
        call = self._connected_call_of(agent, msg.call_id)
        if msg.to is None:
            raise LabkitError(ErrorCode.INVALID_MESSAGE, "A signal needs 'to': the participant it is for.")
        if self.routing.signal(call, agent.user_id, agent.display_name or agent.user_id, msg):
            return  # the SFU's
        if msg.to == SFU_ID:
            raise LabkitError(
                ErrorCode.INVALID_MESSAGE,
                "This call's media is a mesh, not through the SFU.",
                "Signal the participants (the roster's media says which).",
            )
        target = call.members.get(msg.to)
        if target is None or not target.is_connected or msg.to == agent.user_id:
            raise LabkitError(
                ErrorCode.PARTICIPANT_NOT_IN_CALL,
                f"{msg.to} is not a connected participant of the call.",
                "Signal only participants that the roster lists as Connected.",
            )
        self._send_to(msg.to, Signal(call_id=call.id, from_=agent.user_id, to=msg.to, payload=msg.payload))

    def _update_state(self, agent: AgentConnection, msg: UpdateState) -> None:
        call = self._call_of(agent, msg.call_id)
        member = call.members[agent.user_id]
        if msg.is_muted is not None:
            member.is_muted = msg.is_muted
        if msg.is_video_on is not None:
            member.is_video_on = msg.is_video_on
        if msg.is_on_hold is not None:
            member.is_on_hold = msg.is_on_hold
            self.routing.held(call, agent.user_id, msg.is_on_hold)
        if msg.is_recording is not None:
            member.is_recording = msg.is_recording
        if msg.display_name is not None:
            member.display_name = msg.display_name
        self._broadcast(call, ParticipantUpdated(call_id=call.id, participant=member.to_wire()), besides=agent.user_id)

    # --- call mechanics -------------------------------------------------------------------

    def _ring(self, call: CallRecord, callee: Member, inviter: AgentConnection, timeout: float) -> None:
        """Deliver the invitation, or drop the callee at once if unknown or offline."""
        if not self.user_exists(callee.user_id):
            self._leave(
                call, callee.user_id, end_reasons.UNKNOWN_USER.with_message(f"No user {callee.user_id} exists.")
            )
            return
        target = self.agents.get(callee.user_id)
        if target is None:
            self._leave(
                call, callee.user_id, end_reasons.USER_OFFLINE.with_message(f"{_name(callee)} is not signed in.")
            )
            return
        caller = call.members[inviter.user_id].to_wire()
        target.send(
            IncomingCall(
                call_id=call.id,
                caller=caller,
                video=call.video,
                is_group_call=call.is_group,
                participants=call.roster(),
            )
        )
        loop = asyncio.get_running_loop()
        callee.ring_timer = loop.call_later(timeout, self._ring_timed_out, call.id, callee.user_id)

    def _ring_timed_out(self, call_id: str, user_id: str) -> None:
        call = self.calls.get(call_id)
        member = call.members.get(user_id) if call else None
        if call is not None and member is not None and not member.is_connected:
            member.ring_timer = None
            self._leave(call, user_id, end_reasons.NO_ANSWER.with_message(f"{_name(member)} did not answer."))

    def _decline(self, call: CallRecord, member: Member) -> None:
        self._leave(call, member.user_id, end_reasons.DECLINED.with_message(f"{_name(member)} declined the call."))

    def _leave(self, call: CallRecord, user_id: str, reason: CallEndReason, *, notify_leaver: bool = True) -> None:
        """Take ``user_id`` out of ``call``; tell it (``call-ended``) and the others (``participant-left``)."""
        member = call.members.pop(user_id)
        member.stop_ringing()
        self.routing.left(call, user_id)
        self._calls_of[user_id].discard(call.id)
        if not self._calls_of[user_id]:
            del self._calls_of[user_id]
        if not member.is_connected:
            call.failures.append(reason)
        if notify_leaver:
            self._send_to(user_id, CallEnded(call_id=call.id, reason=EndReason.of(_leaver_view(reason))))
        self._broadcast(call, ParticipantLeft(call_id=call.id, user_id=user_id, reason=EndReason.of(reason)))
        self._settle(call, reason)

    def _settle(self, call: CallRecord, last: CallEndReason | None = None) -> None:
        """End what is left of ``call`` if nobody can talk any more."""
        if call.id not in self.calls:
            return
        connected, pending = call.connected(), call.pending()
        if not connected:
            for member in pending:
                self._finish(call, member.user_id, end_reasons.CANCELLED)
        elif len(connected) == 1 and not pending and call.group_id is None:
            if not call.answered:
                self._finish(call, connected[0].user_id, call.unanswered_reason())
            elif not call.is_group and last is not None:
                # a 1:1 call: the other party is gone, so the call is over for this one too
                survivor_view = end_reasons.LOCAL_HANG_UP if last.same_as(end_reasons.REMOVED) else last
                self._finish(call, connected[0].user_id, survivor_view)
            else:
                return
        else:
            return
        self._discard(call)

    def _end(self, call: CallRecord, ender_id: str) -> None:
        """``hang_up(for_everyone=True)``: the call ends for every member."""
        ender = _name(call.members[ender_id])
        for member in list(call.members.values()):
            if member.user_id == ender_id:
                reason = end_reasons.LOCAL_HANG_UP
            elif member.is_connected:
                reason = end_reasons.ENDED_FOR_EVERYONE.with_message(f"{ender} ended the call for everyone.")
            else:
                reason = end_reasons.CANCELLED
            self._finish(call, member.user_id, reason)
        self._discard(call)

    def _finish(self, call: CallRecord, user_id: str, reason: CallEndReason) -> None:
        member = call.members.pop(user_id)
        member.stop_ringing()
        self.routing.left(call, user_id)
        self._calls_of[user_id].discard(call.id)
        if not self._calls_of[user_id]:
            del self._calls_of[user_id]
        self._send_to(user_id, CallEnded(call_id=call.id, reason=EndReason.of(reason)))

    def _discard(self, call: CallRecord) -> None:
        """Forget ``call``; its members have each been told that it ended."""
        self.calls.pop(call.id, None)
        self.routing.ended(call)

    def _route(self, call: CallRecord, *, besides: str | None = None) -> None:
        """After the call grew: if it has just moved to the SFU, tell its connected members."""
        if self.routing.update(call) and call.connected(besides=besides):
            self._broadcast(call, MediaRoute(call_id=call.id, media="sfu"), besides=besides)

    def _sfu_lost(self, name: str, why: str, call_ids: list[str]) -> None:
        """A Janus is gone: every call whose room it held ends for all its members, and says why."""
        reason = end_reasons.SFU_LOST.with_message(
            f"The SFU ({name}) that carried this call's media stopped: {why}. "
            "Restart the service with its SFU and call again."
        )
        for call_id in call_ids:
            call = self.calls.get(call_id)
            if call is None:
                continue
            for user_id in list(call.members):
                self._finish(call, user_id, reason)
            self._discard(call)

    # --- helpers --------------------------------------------------------------------------

    def _add_member(self, call: CallRecord, member: Member) -> None:
        call.members[member.user_id] = member
        self._calls_of[member.user_id].add(call.id)

    def _broadcast(self, call: CallRecord, message: Message, *, besides: str | None = None) -> None:
        for member in call.connected(besides=besides):
            self._send_to(member.user_id, message)

    def _send_to(self, user_id: str, message: Message) -> None:
        agent = self.agents.get(user_id)
        if agent is not None:
            agent.send(message)

    def _display_name_of(self, user_id: str) -> str:
        agent = self.agents.get(user_id)
        return agent.display_name if agent else ""

    def _call_of(self, agent: AgentConnection, call_id: str) -> CallRecord:
        call = self.calls.get(call_id)
        if call is None:
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, f"There is no call {call_id}.", "It may have ended already.")
        if agent.user_id not in call.members:
            raise LabkitError(ErrorCode.NOT_IN_CALL, f"You are not in call {call_id}.")
        return call

    def _connected_call_of(self, agent: AgentConnection, call_id: str) -> CallRecord:
        call = self._call_of(agent, call_id)
        if not call.members[agent.user_id].is_connected:
            raise LabkitError(ErrorCode.NOT_IN_CALL, f"You have not accepted call {call_id} yet.", "Accept it first.")
        return call

    def _pending_member(self, agent: AgentConnection, call_id: str) -> tuple[CallRecord, Member]:
        call = self._call_of(agent, call_id)
        member = call.members[agent.user_id]
        if member.is_connected:
            raise LabkitError(ErrorCode.NOT_INVITED, f"You are already connected to call {call_id}.")
        return call, member

    def _refresh_token(self, agent: AgentConnection, msg: RefreshToken) -> None:
        claims = self.identity.verify_token(msg.token)  # refused with the sign-in's codes
        if claims.user.id != agent.user_id:
            raise TokenError(
                ErrorCode.TOKEN_WRONG_USER,
                f"The token is for {claims.user.id}, but this connection signed in as {agent.user_id}.",
                "Refresh with a token of the user who signed in, or sign in again as the other user.",
            )
        claims.require_calling()
        agent.claims = claims
        agent.send(TokenRefreshed(ref=msg.ref, expires_on=claims.expires_on))

    def _require_fresh_token(self, agent: AgentConnection) -> None:
        """A signed-in agent keeps its connection, but joins no call once its token has expired."""
        assert agent.claims is not None
        if agent.claims.expires_on <= datetime.now(UTC):
            raise TokenError(
                ErrorCode.TOKEN_EXPIRED,
                "Your token expired after you signed in.",
                "Sign in again with a fresh token from POST /api/token.",
            )

    def _require_voip(self, agent: AgentConnection, action: str) -> None:
        assert agent.claims is not None
        if not agent.claims.allows(TokenScope.VOIP):
            raise LabkitError(
                ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
                f"A token with only the voip.join scope cannot {action}.",
                "Join a group call instead, or sign in with a voip token.",
            )


def _name(member: Member) -> str:
    return member.display_name or member.user_id


def _leaver_view(reason: CallEndReason) -> CallEndReason:
    """What the leaver itself is told: a hang-up or decline is its own doing (0/0 or 603)."""
    return end_reasons.LOCAL_HANG_UP if reason.same_as(end_reasons.LOCAL_HANG_UP) else reason


def call_hint(call_id: str) -> str:
    return f"Hang up call {call_id} first if you want to rejoin."
