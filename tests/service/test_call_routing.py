"""Routing of 1:1 and group call signaling between raw WebSocket agents, through the real service."""

from __future__ import annotations

from labkit.service import EmbeddedService

from ..agent_socket import OFFER, AgentSocket, connect_all, new_call_id, reason, ring

ANSWER = {"kind": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"kind": "candidate", "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}


async def test_invite_accept_and_sdp_exchange(alice: AgentSocket, bob: AgentSocket) -> None:
    call_id = await ring(alice, bob)
    await bob.send(type="accept", callId=call_id, video=True, ref="a1")
    roster = await bob.expect("roster")
    assert roster["ref"] == "a1"
    assert roster["isGroupCall"] is False
    assert {p["userId"]: p["state"] for p in roster["participants"]} == {
        alice.user_id: "Connected",
        bob.user_id: "Connected",
    }
    joined = await alice.expect("participant-updated")
    assert joined["participant"]["state"] == "Connected"
    assert joined["participant"]["isVideoOn"] is True

    # the mesh rule: the one who just connected (Bob) offers; the other answers
    await bob.send(type="signal", callId=call_id, to=alice.user_id, payload=OFFER)
    relayed = await alice.expect("signal")
    assert (relayed["from"], relayed["payload"]) == (bob.user_id, OFFER)
    await alice.send(type="signal", callId=call_id, to=bob.user_id, payload=ANSWER)
    assert (await bob.expect("signal"))["payload"] == ANSWER
    await alice.send(type="signal", callId=call_id, to=bob.user_id, payload=CANDIDATE)
    assert (await bob.expect("signal"))["payload"] == CANDIDATE

    await alice.send(type="update-state", callId=call_id, isMuted=True)
    update = await bob.expect("participant-updated")
    assert (update["participant"]["userId"], update["participant"]["isMuted"]) == (alice.user_id, True)
    await alice.send(type="update-state", callId=call_id, isOnHold=True)
    assert (await bob.expect("participant-updated"))["participant"]["isOnHold"] is True

    await bob.send(type="hang-up", callId=call_id)
    assert reason(await bob.expect("call-ended")) == (0, 0)
    left = await alice.expect("participant-left")
    assert (left["userId"], reason(left)) == (bob.user_id, (0, 0))
    ended = await alice.expect("call-ended")
    assert reason(ended) == (0, 0)
    assert "Bob hung up" in ended["reason"]["message"]


async def test_reject_ends_the_call_with_603(alice: AgentSocket, bob: AgentSocket) -> None:
    call_id = await ring(alice, bob)
    await bob.send(type="reject", callId=call_id)
    assert reason(await bob.expect("call-ended")) == (603, 0)
    assert reason(await alice.expect("participant-left")) == (603, 0)
    assert reason(await alice.expect("call-ended")) == (603, 0)


async def test_cancel_before_answer_is_487_for_the_callee(alice: AgentSocket, bob: AgentSocket) -> None:
    call_id = await ring(alice, bob)
    await alice.send(type="hang-up", callId=call_id)
    assert reason(await alice.expect("call-ended")) == (0, 0)
    assert reason(await bob.expect("call-ended")) == (487, 0)
    await bob.send(type="accept", callId=call_id)
    await bob.expect_error("call-not-found")


async def test_unknown_user_ends_the_call_with_404(alice: AgentSocket) -> None:
    call_id = new_call_id()
    await alice.send(type="start-call", callId=call_id, participants=["8:acs:nobody_nothing"])
    await alice.expect("roster")
    assert reason(await alice.expect("participant-left")) == (404, 0)
    ended = await alice.expect("call-ended")
    assert reason(ended) == (404, 0)
    assert "8:acs:nobody_nothing" in ended["reason"]["message"]


async def test_offline_user_ends_the_call_with_480(service: EmbeddedService, alice: AgentSocket) -> None:
    bob = await AgentSocket.signed_in(service.url, "Bob")
    await bob.close()
    await alice.send(type="start-call", callId=new_call_id(), participants=[bob.user_id])
    await alice.expect("roster")
    assert reason(await alice.expect("participant-left")) == (480, 0)
    assert reason(await alice.expect("call-ended")) == (480, 0)


async def test_no_answer_before_the_ring_timeout_is_408(alice: AgentSocket, bob: AgentSocket) -> None:
    await ring(alice, bob, ringTimeout=0.5)
    assert reason(await bob.expect("call-ended", timeout=3)) == (408, 0)
    assert reason(await alice.expect("participant-left", timeout=3)) == (408, 0)
    assert reason(await alice.expect("call-ended")) == (408, 0)


async def test_ad_hoc_group_call_builds_a_roster_for_a_mesh(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = await ring(alice, bob, carol)
    await bob.send(type="accept", callId=call_id)
    roster = await bob.expect("roster")
    assert roster["isGroupCall"] is True
    assert {p["userId"]: p["state"] for p in roster["participants"]} == {
        alice.user_id: "Connected",
        bob.user_id: "Connected",
        carol.user_id: "Ringing",
    }
    assert (await alice.expect("participant-updated"))["participant"]["state"] == "Connected"
    await carol.send(type="accept", callId=call_id)
    carol_roster = await carol.expect("roster")
    assert {p["state"] for p in carol_roster["participants"]} == {"Connected"}
    for other in (alice, bob):
        update = await other.expect("participant-updated")
        assert (update["participant"]["userId"], update["participant"]["state"]) == (carol.user_id, "Connected")
    # Carol offers to both, and each gets only its own offer
    for other in (alice, bob):
        await carol.send(type="signal", callId=call_id, to=other.user_id, payload=OFFER)
        assert (await other.expect("signal"))["from"] == carol.user_id
    # in a group call one leaving does not end it for the others
    await alice.send(type="hang-up", callId=call_id)
    await alice.expect("call-ended")
    for other in (bob, carol):
        left = await other.expect("participant-left")
        assert (left["userId"], reason(left)) == (alice.user_id, (0, 0))
        await other.nothing_for(0.2)


async def test_all_callees_declining_is_0_5003(alice: AgentSocket, bob: AgentSocket, carol: AgentSocket) -> None:
    call_id = await ring(alice, bob, carol)
    await bob.send(type="reject", callId=call_id)
    await bob.expect("call-ended")
    assert reason(await alice.expect("participant-left")) == (603, 0)
    await carol.send(type="reject", callId=call_id)
    await carol.expect("call-ended")
    assert reason(await alice.expect("participant-left")) == (603, 0)
    assert reason(await alice.expect("call-ended")) == (0, 5003)


async def test_group_join_by_id_tells_members_who_joins_and_leaves(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    group = new_call_id()
    await alice.send(type="join", groupId=group, video=True)
    roster = await alice.expect("roster")
    assert (roster["callId"], roster["groupId"], roster["isGroupCall"]) == (group, group, True)
    await bob.send(type="join", groupId=group)
    assert [p["userId"] for p in (await bob.expect("roster"))["participants"]] == [alice.user_id, bob.user_id]
    joined = await alice.expect("participant-joined")
    assert (joined["participant"]["userId"], joined["participant"]["state"]) == (bob.user_id, "Connected")
    await carol.send(type="join", groupId=group)
    assert len((await carol.expect("roster"))["participants"]) == 3
    for other in (alice, bob):
        assert (await other.expect("participant-joined"))["participant"]["userId"] == carol.user_id
    await bob.send(type="join", groupId=group)
    await bob.expect_error("already-in-call")
    await bob.send(type="hang-up", callId=group)
    await bob.expect("call-ended")
    for other in (alice, carol):
        assert (await other.expect("participant-left"))["userId"] == bob.user_id
    # the last two leave; the group call then no longer exists
    await alice.send(type="hang-up", callId=group)
    await alice.expect("call-ended")
    assert (await carol.expect("participant-left"))["userId"] == alice.user_id
    await carol.nothing_for(0.2)  # a group call goes on with one member
    await carol.send(type="hang-up", callId=group)
    await carol.expect("call-ended")
    await carol.send(type="update-state", callId=group, isMuted=True)
    await carol.expect_error("call-not-found")


async def test_add_and_remove_participant(alice: AgentSocket, bob: AgentSocket, carol: AgentSocket) -> None:
    call_id = await ring(alice, bob)
    await bob.send(type="accept", callId=call_id)
    await bob.expect("roster")
    await alice.expect("participant-updated")
    await alice.send(type="add-participant", callId=call_id, userId=carol.user_id)
    for member in (alice, bob):
        joined = await member.expect("participant-joined")
        assert (joined["participant"]["userId"], joined["participant"]["state"]) == (carol.user_id, "Connecting")
    invite = await carol.expect("incoming-call")
    assert invite["isGroupCall"] is True
    await carol.send(type="accept", callId=call_id)
    await carol.expect("roster")
    for member in (alice, bob):
        assert (await member.expect("participant-updated"))["participant"]["state"] == "Connected"
    await alice.send(type="remove-participant", callId=call_id, userId=bob.user_id)
    removed = await bob.expect("call-ended")
    assert reason(removed) == (0, 5000)
    assert "Alice removed you" in removed["reason"]["message"]
    for member in (alice, carol):
        left = await member.expect("participant-left")
        assert (left["userId"], reason(left)) == (bob.user_id, (0, 5000))


async def test_hang_up_for_everyone(alice: AgentSocket, bob: AgentSocket, carol: AgentSocket) -> None:
    call_id = await connect_all(alice, bob, carol)
    await bob.send(type="hang-up", callId=call_id, forEveryone=True)
    assert reason(await bob.expect("call-ended")) == (0, 0)
    for other in (alice, carol):
        assert reason(await other.expect("call-ended")) == (0, 4097)


async def test_messages_for_calls_the_sender_is_not_in_are_refused(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = await ring(alice, bob)
    await carol.send(type="signal", callId=call_id, to=alice.user_id, payload=OFFER, ref="x")
    error = await carol.expect_error("not-in-call")
    assert error["ref"] == "x"
    await carol.send(type="hang-up", callId=call_id)
    await carol.expect_error("not-in-call")
    await carol.send(type="accept", callId=new_call_id())
    await carol.expect_error("call-not-found")
    # Bob is invited but has not accepted: he may not signal yet, nor be signalled
    await bob.send(type="signal", callId=call_id, to=alice.user_id, payload=OFFER)
    await bob.expect_error("not-in-call")
    await alice.send(type="signal", callId=call_id, to=bob.user_id, payload=OFFER)
    await alice.expect_error("participant-not-in-call")
    await alice.send(type="start-call", callId=call_id, participants=[carol.user_id])
    await alice.expect_error("call-id-in-use")
    await alice.send(type="start-call", callId=new_call_id(), participants=[alice.user_id])
    await alice.expect_error("invalid-message")
    # none of that disturbed the call
    await bob.send(type="accept", callId=call_id)
    await bob.expect("roster")
    await alice.expect("participant-updated")
    await carol.nothing_for(0.2)


async def test_rejoin_rebuilds_a_lost_call_for_its_members_only(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = new_call_id()  # a call the service does not know (as after a restart)
    await alice.send(type="rejoin", callId=call_id, participants=[bob.user_id], isVideoOn=True, isMuted=True, ref="a")
    roster = await alice.expect("roster")
    assert roster["rejoined"] is True
    assert roster["ref"] == "a"
    await carol.send(type="rejoin", callId=call_id, participants=[alice.user_id], ref="c")
    await carol.expect_error("call-not-found")  # not named by the first rejoiner: a stranger
    await bob.send(type="rejoin", callId=call_id, participants=[alice.user_id], ref="b")
    roster = await bob.expect("roster")
    assert {p["userId"]: p["isMuted"] for p in roster["participants"]} == {alice.user_id: True, bob.user_id: False}
    update = await alice.expect("participant-updated")  # an update, not a join: Alice knew Bob all along
    assert update["participant"]["userId"] == bob.user_id
    await bob.send(type="signal", callId=call_id, to=alice.user_id, payload=OFFER)
    assert (await alice.expect("signal"))["from"] == bob.user_id  # signaling works again


async def test_rejoin_into_a_call_that_went_on_without_you_is_refused(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = await ring(alice, bob)
    await carol.send(type="rejoin", callId=call_id, participants=[alice.user_id])
    error = await carol.expect_error("call-not-found")
    assert "went on without you" in error["message"]
