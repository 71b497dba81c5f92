"""The call's state machine, driven by the messages a service would send (in memory)."""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt
import pytest

from labkit.calling import call_messages
from labkit.calling.call_host import CallHost
from labkit.calling.call_session import CallSession
from labkit.calling.token_credential import TokenCredential
from labkit.clock import ManualClock
from labkit.errors import ErrorCode, LabkitError
from labkit.protocol import end_reasons
from labkit.protocol.memory_transport import MemoryTransport
from labkit.protocol.messages import (
    CallEnded,
    EndReason,
    HangUp,
    Message,
    Participant,
    ParticipantLeft,
    ParticipantUpdated,
    Rejoin,
    Roster,
    StartCall,
    UpdateState,
)
from labkit.states import CallDirection, CallState, ConnectionState, RemoteParticipantState

from ..helpers import state_of

CALL_ID = "00000000-0000-4000-8000-000000000001"
BOB = "8:acs:bob"
CAROL = "8:acs:carol"


def bob(state: RemoteParticipantState = RemoteParticipantState.CONNECTING, **fields: bool) -> Participant:
    return Participant(user_id=BOB, display_name="Bob", state=state, **fields)


def roster(*participants: Participant, is_group: bool = False) -> Roster:
    return Roster(call_id=CALL_ID, is_group_call=is_group, participants=list(participants))


def outgoing(host: CallHost, *, muted: bool = False) -> CallSession:
    return CallSession(host, CALL_ID, CallDirection.OUTGOING, muted=muted, video=None)


async def deliver(session: CallSession, message: Message) -> None:
    """Hand ``session`` a message from the service, on the engine thread (as the agent does)."""
    await session.host.engine.run(call_messages.on_message(session, message))


def answer_with_roster(message: Message) -> Message | None:
    """The service's reply to ``start-call``: the roster, with the callee still connecting."""
    return roster(bob()) if isinstance(message, StartCall) else None


async def test_an_outgoing_call_connects_rings_and_ends_with_the_services_reason(
    host: CallHost, transport: MemoryTransport
) -> None:
    transport.handler = answer_with_roster
    session = outgoing(host)
    states: list[CallState] = []
    session.call.on("state_changed", lambda event: states.append(event.value))
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    (start,) = transport.sent_of(StartCall)
    assert isinstance(start, StartCall)
    assert (start.participants, start.ring_timeout, start.video) == ([BOB], 30.0, False)
    await host.engine.run(
        call_messages.on_message(
            session, ParticipantUpdated(call_id=CALL_ID, participant=bob(RemoteParticipantState.RINGING))
        )
    )
    assert session.call.state is CallState.RINGING
    (participant,) = session.call.remote_participants
    assert (participant.display_name, participant.state) == ("Bob", RemoteParticipantState.RINGING)
    await host.engine.run(
        call_messages.on_message(session, CallEnded(call_id=CALL_ID, reason=EndReason.of(end_reasons.NO_ANSWER)))
    )
    assert states == [CallState.CONNECTING, CallState.RINGING, CallState.DISCONNECTED]
    assert session.call.call_end_reason == end_reasons.NO_ANSWER
    assert participant.state is RemoteParticipantState.DISCONNECTED


async def test_a_refused_request_ends_the_call_with_the_services_words(
    host: CallHost, transport: MemoryTransport
) -> None:
    def refuse(message: Message) -> Message:
        raise LabkitError(ErrorCode.CALL_ID_IN_USE, "A call with this id exists already.")

    transport.handler = refuse
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    assert session.call.state is CallState.DISCONNECTED
    reason = session.call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (400, 0)
    assert "call-id-in-use: A call with this id exists already." in reason.message


async def test_a_failure_inside_the_engine_ends_the_call_and_is_logged(
    host: CallHost, transport: MemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(message: Message) -> Message:
        raise RuntimeError("the request path broke")

    transport.handler = broken
    session = outgoing(host)
    with caplog.at_level(logging.ERROR):
        await host.engine.run(session.start_outgoing([BOB], group_id=None))
    reason = session.call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (500, 0)
    assert "RuntimeError: the request path broke" in reason.message
    assert any("starting the call failed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_an_expired_token_ends_the_call_before_anything_is_sent(
    host: CallHost, transport: MemoryTransport, clock: ManualClock
) -> None:
    expires = clock.now() + timedelta(seconds=60)
    host.credential = TokenCredential(jwt.encode({"exp": int(expires.timestamp())}, "k" * 32, algorithm="HS256"))
    transport.handler = answer_with_roster
    await clock.advance(61)  # no real time passes
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    assert transport.sent == []
    reason = session.call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (495, 4507)
    assert "expired" in reason.message


async def test_a_muted_start_tells_the_service_and_the_state_follows_the_peers_hold(
    host: CallHost, transport: MemoryTransport
) -> None:
    transport.handler = answer_with_roster
    session = outgoing(host, muted=True)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    assert [m.is_muted for m in transport.sent_of(UpdateState)] == [True]  # type: ignore[attr-defined]
    await deliver(session, roster(bob(RemoteParticipantState.CONNECTED)))  # the reply, as the agent hands it on
    session.set_state(CallState.CONNECTED)  # as the link does once media flows
    held = ParticipantUpdated(call_id=CALL_ID, participant=bob(RemoteParticipantState.CONNECTED, is_on_hold=True))
    await deliver(session, held)
    assert session.call.state is CallState.REMOTE_HOLD
    assert session.call.remote_participants[0].state is RemoteParticipantState.HOLD
    resumed = ParticipantUpdated(call_id=CALL_ID, participant=bob(RemoteParticipantState.CONNECTED))
    await deliver(session, resumed)
    assert state_of(session.call) is CallState.CONNECTED
    assert [label for _, label in session.call.media_events] == ["Bob joined", "Bob holds", "Bob resumes"]
    await host.engine.run(session.finish(end_reasons.LOCAL_HANG_UP))


async def test_only_a_connected_call_can_be_held(host: CallHost, transport: MemoryTransport) -> None:
    transport.handler = answer_with_roster
    host.connection_state = ConnectionState.CONNECTED
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    with pytest.raises(LabkitError) as refused:
        await session.call.hold()
    assert refused.value.code is ErrorCode.NOT_IN_CALL
    assert "Connecting" in refused.value.message
    await host.engine.run(session.finish(end_reasons.LOCAL_HANG_UP))


async def test_in_a_group_one_leaving_keeps_the_call_and_the_last_leaving_does_not_end_it(
    host: CallHost, transport: MemoryTransport
) -> None:
    carol = Participant(user_id=CAROL, display_name="Carol", state=RemoteParticipantState.CONNECTING)
    transport.handler = lambda message: roster(bob(), carol, is_group=True) if isinstance(message, StartCall) else None
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB, CAROL], group_id=None))
    await deliver(session, roster(bob(), carol, is_group=True))
    assert {p.user_id for p in session.call.remote_participants} == {BOB, CAROL}
    left = ParticipantLeft(call_id=CALL_ID, user_id=BOB, reason=EndReason.of(end_reasons.LOCAL_HANG_UP))
    await deliver(session, left)
    assert [p.user_id for p in session.call.remote_participants] == [CAROL]
    assert session.call.state is not CallState.DISCONNECTED
    await host.engine.run(session.finish(end_reasons.LOCAL_HANG_UP))


async def test_hanging_up_without_a_service_finishes_at_once(host: CallHost, transport: MemoryTransport) -> None:
    transport.handler = answer_with_roster
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    transport.is_connected = False  # the service is unreachable
    await session.call.hang_up()
    assert session.call.state is CallState.DISCONNECTED
    assert session.call.call_end_reason == end_reasons.LOCAL_HANG_UP
    assert transport.sent_of(HangUp) == []


async def test_a_refused_rejoin_ends_the_call_with_network_and_says_so(
    host: CallHost, transport: MemoryTransport
) -> None:
    def service(message: Message) -> Message | None:
        if isinstance(message, Rejoin):
            raise LabkitError(ErrorCode.CALL_NOT_FOUND, "No such call.")
        return answer_with_roster(message)

    transport.handler = service
    session = outgoing(host)
    await host.engine.run(session.start_outgoing([BOB], group_id=None))
    await host.engine.run(session.rejoin())
    reason = session.call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (410, 3100)
    assert "could not be restored after a service outage" in reason.message
