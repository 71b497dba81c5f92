"""An agent that vanishes is removed from its calls, and the others are told."""

from __future__ import annotations

from ..agent_socket import AgentSocket, connect_all, reason, ring


async def test_a_vanished_peer_ends_a_1to1_call_with_a_network_reason(alice: AgentSocket, bob: AgentSocket) -> None:
    call_id = await ring(alice, bob)
    await bob.send(type="accept", callId=call_id)
    await bob.expect("roster")
    await alice.expect("participant-updated")
    await bob.close()
    left = await alice.expect("participant-left")
    assert (left["userId"], reason(left)) == (bob.user_id, (410, 3100))
    assert "connection" in left["reason"]["message"]
    assert reason(await alice.expect("call-ended")) == (410, 3100)


async def test_a_vanished_member_leaves_a_group_call_that_goes_on(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = await connect_all(alice, bob, carol)
    await carol.close()
    for member in (alice, bob):
        left = await member.expect("participant-left")
        assert left["userId"] == carol.user_id
    await alice.send(type="update-state", callId=call_id, isMuted=True)
    assert (await bob.expect("participant-updated"))["participant"]["isMuted"] is True


async def test_a_callee_vanishing_while_ringing_ends_the_unanswered_call(alice: AgentSocket, bob: AgentSocket) -> None:
    await ring(alice, bob)
    await bob.close()
    assert reason(await alice.expect("participant-left")) == (410, 3100)
    assert reason(await alice.expect("call-ended")) == (410, 3100)


async def test_a_caller_vanishing_cancels_the_invitation(alice: AgentSocket, bob: AgentSocket) -> None:
    await ring(alice, bob)
    await alice.close()
    assert reason(await bob.expect("call-ended")) == (487, 0)
