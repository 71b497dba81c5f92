"""What a call does with each message the service sends it (labkit; ACS: the call's events).

The service tells a call who is in it (``roster``), who joined, changed or left, passes on
the peers' ``signal``s, and says when the call ended. Each message updates the session's
participants and state here; signals go to the participant's link.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import ErrorCode, LabkitError
from ..protocol import end_reasons
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import (
    SFU_ID,
    CallEnded,
    MediaRoute,
    Message,
    Participant,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Roster,
    Signal,
)
from ..states import CallState, RemoteParticipantState
from .event_emitter import CollectionUpdated
from .remote_participant import RemoteParticipant

if TYPE_CHECKING:
    from .call_session import CallSession

logger = logging.getLogger(__name__)


async def on_message(session: CallSession, message: Message) -> None:
    """Apply one message from the service to ``session``."""
    session.note("received", message)
    match message:
        case Roster():
            await _on_roster(session, message)
        case ParticipantJoined():
            session.is_group = True  # someone beyond the first callee: a group call now
            add_participant(session, message.participant)
        case ParticipantUpdated():
            _on_participant_updated(session, message.participant)
        case ParticipantLeft():
            await participant_left(session, message.user_id, message.reason.to_reason())
        case Signal():
            await _on_signal(session, message)
        case CallEnded():
            await session.finish(message.reason.to_reason())
        case MediaRoute():
            if message.media == "sfu":
                await session.move_to_sfu()


async def _on_roster(session: CallSession, roster: Roster) -> None:
    session.is_group = roster.is_group_call
    session.media = roster.media
    for wire in roster.participants:
        if wire.user_id != session.host.user_id:
            if wire.user_id in session.participants:
                session.participants[wire.user_id].update(wire)
            else:
                add_participant(session, wire)
    if roster.rejoined:
        session.update_hold_state()
        return  # after a service outage: the links are up already, nobody offers
    peers = [
        p
        for p in session.participants.values()
        if p.state in (RemoteParticipantState.CONNECTED, RemoteParticipantState.HOLD)
    ]
    if session.media == "sfu":  # publish once; the SFU offers each participant's media
        if not peers and session.joined_group:
            session.set_state(CallState.CONNECTED)
        await session.link(SFU_ID).offer()
        return
    if len(peers) > session.max_peers:
        await session.hang_up(False)
        return
    if not peers and session.joined_group:
        session.set_state(CallState.CONNECTED)
    for peer in peers:  # the mesh rule: whoever arrives offers to everyone connected
        await session.link(peer.user_id).offer()


def add_participant(session: CallSession, wire: Participant) -> None:
    if wire.user_id == session.host.user_id or wire.user_id in session.participants:
        return
    participant = RemoteParticipant(session.host.engine, session.host.dispatcher, wire)
    session.participants[wire.user_id] = participant
    session.mark(f"{participant.display_name or 'someone'} joined")
    session.call.emit("remote_participants_updated", CollectionUpdated(added=(participant,)))
    _update_ringing(session)
    session.tell_features()


def _on_participant_updated(session: CallSession, wire: Participant) -> None:
    participant = session.participants.get(wire.user_id)
    if participant is None:
        add_participant(session, wire)
        return
    was_on_hold = participant.is_on_hold
    participant.update(wire)
    if participant.is_on_hold != was_on_hold:
        session.mark(f"{participant.display_name} {'holds' if participant.is_on_hold else 'resumes'}")
    _update_ringing(session)
    session.update_hold_state()
    session.tell_features()


def _update_ringing(session: CallSession) -> None:
    if session.state is CallState.CONNECTING and any(
        p.state is RemoteParticipantState.RINGING for p in session.participants.values()
    ):
        session.set_state(CallState.RINGING)


async def participant_left(session: CallSession, user_id: str, reason: CallEndReason) -> None:
    participant = session.participants.pop(user_id, None)
    await session.mesh.drop(user_id)
    if participant is not None:
        session.mark(f"{participant.display_name or 'someone'} left")
        session.host.speaker().forget(user_id)
        await participant.leave(reason)
        session.call.emit("remote_participants_updated", CollectionUpdated(removed=(participant,)))
    session.update_hold_state()
    session.tell_features()


async def _on_signal(session: CallSession, signal: Signal) -> None:
    sender = signal.from_
    if sender is None or (sender not in session.participants and not (sender == SFU_ID and session.media == "sfu")):
        logger.warning("call %s: a signal from %s, who is not a participant", session.id[:8], sender)
        return
    try:
        await session.link(sender).handle(signal.payload)
    except LabkitError as error:
        if error.code is not ErrorCode.OFFER_NOT_ACCEPTABLE:
            raise
        logger.warning("call %s: %s", session.id[:8], error.message)
        await session.end_for_media(sender, end_reasons.NOT_ACCEPTABLE.with_message(error.message))
    except Exception:
        logger.exception("call %s: negotiation with %s failed", session.id[:8], sender)
