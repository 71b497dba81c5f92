"""Group calls: by group id and ad hoc, a full mesh; removal and ending for everyone."""

from __future__ import annotations

import uuid
from functools import partial

from labkit import Call, CallState, RemoteParticipantState

from ..helpers import Factory, Person, eventually, has_stamp


async def assert_mesh(calls: dict[str, Call]) -> None:
    """Every member receives every other member's camera (read from the frame stamps)."""
    for name, call in calls.items():
        await call.wait_for_remote_participants(len(calls) - 1, timeout=15)
        for participant in call.remote_participants:
            stream = participant.video_streams[0]
            await stream.next_frame()
            await eventually(partial(has_stamp, stream), what=f"{name} decoding a stamp")
    names = {call.remote_participants[0].display_name for call in calls.values()}
    assert names <= set(calls)


async def test_three_people_join_a_group_by_id(people: Factory) -> None:
    group = str(uuid.uuid4())
    members: list[Person] = [await people(name) for name in ("Alice", "Bob", "Carol")]
    calls: dict[str, Call] = {}
    for person in members:
        calls[person.name] = person.agent.join(group, video_options=await person.camera(1))
        await calls[person.name].wait_for_state("Connected")
    assert all(call.id == group for call in calls.values())
    assert all(call.is_group_call for call in calls.values())
    await assert_mesh(calls)
    alice_view = {p.display_name for p in calls["Alice"].remote_participants}
    assert alice_view == {"Bob", "Carol"}
    await eventually(lambda: members[0].speaker_level() > -30, what="Alice hears the others")
    # Carol leaves: the others see her go, and keep talking
    removed: list[str] = []
    calls["Alice"].on("remote_participants_updated", lambda e: removed.extend(p.display_name for p in e.removed))
    await calls["Carol"].hang_up()
    await eventually(lambda: removed == ["Carol"], what="Alice sees Carol leave")
    assert calls["Alice"].state is CallState.CONNECTED
    (bob,) = calls["Alice"].remote_participants
    assert bob.display_name == "Bob"
    await bob.video_streams[0].next_frame()


async def test_ad_hoc_group_by_participant_list(people: Factory) -> None:
    alice, bob, carol = await people("Alice"), await people("Bob"), await people("Carol")
    call = alice.agent.start_call([bob.agent.identifier, carol.agent.identifier], video_options=await alice.camera())
    calls = {"Alice": call}
    for person in (bob, carol):
        incoming = await person.agent.wait_for_incoming_call()
        assert incoming.is_group_call
        calls[person.name] = await incoming.accept(video_options=await person.camera(2))
    await call.wait_for_state("Connected")
    await assert_mesh(calls)
    bob_sees = {p.display_name: p.video_streams[0].latest_stamp() for p in calls["Bob"].remote_participants}
    assert bob_sees["Alice"] is not None
    assert bob_sees["Alice"].camera == 1
    assert bob_sees["Carol"] is not None
    assert bob_sees["Carol"].camera == 2


async def test_remove_participant_and_hang_up_for_everyone(people: Factory) -> None:
    alice, bob, carol = await people("Alice"), await people("Bob"), await people("Carol")
    call = alice.agent.start_call([bob.agent.identifier, carol.agent.identifier])
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    carol_call = await (await carol.agent.wait_for_incoming_call()).accept()
    await call.wait_for_remote_participants(2)
    bob_in_alice = next(p for p in call.remote_participants if p.display_name == "Bob")
    await call.remove_participant(bob_in_alice)
    await bob_call.wait_for_state("Disconnected")
    assert bob_call.call_end_reason is not None
    assert (bob_call.call_end_reason.code, bob_call.call_end_reason.sub_code) == (0, 5000)
    await bob_in_alice.wait_for_state(RemoteParticipantState.DISCONNECTED)
    assert bob_in_alice.call_end_reason is not None
    assert bob_in_alice.call_end_reason.sub_code == 5000
    assert [p.display_name for p in call.remote_participants] == ["Carol"]
    await call.hang_up(for_everyone=True)
    await carol_call.wait_for_state("Disconnected")
    assert carol_call.call_end_reason is not None
    assert (carol_call.call_end_reason.code, carol_call.call_end_reason.sub_code) == (0, 4097)


async def test_add_participant_brings_a_third_person_in(people: Factory) -> None:
    alice, bob, carol = await people("Alice"), await people("Bob"), await people("Carol")
    call = alice.agent.start_call([bob.agent.identifier])
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    added = await call.add_participant(carol.agent.identifier)
    assert added is not None
    assert added.display_name == "Carol"
    carol_call = await (await carol.agent.wait_for_incoming_call()).accept()
    await carol_call.wait_for_remote_participants(2)
    await call.wait_for_remote_participants(2)
    assert call.is_group_call
