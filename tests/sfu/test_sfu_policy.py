"""The routing policy: small group calls stay a mesh; one that grows past --sfu-above moves to Janus."""

from __future__ import annotations

import uuid
from functools import partial

import pytest

from labkit import Call, CallState
from labkit.protocol.messages import SFU_ID
from labkit.service import EmbeddedService

from ..helpers import Factory, eventually, has_frames, state_of

pytestmark = pytest.mark.slow


@pytest.fixture
def sfu_above() -> int:
    return 4


def everyone_receives_everyone(calls: list[Call]) -> bool:
    return all(
        len(call.remote_participants) == len(calls) - 1
        and all(has_frames(p, at_least=3) for p in call.remote_participants)
        for call in calls
    )


def frames_from_all(call: Call) -> dict[str, int]:
    return {p.display_name: p.video_streams[0].frames_received for p in call.remote_participants}


async def test_a_group_moves_to_the_sfu_when_the_fifth_person_joins_and_no_call_drops(
    sfu_people: Factory, sfu_service: EmbeddedService
) -> None:
    names = ("Ann", "Ben", "Cat", "Dan", "Eve")
    members = [await sfu_people(name) for name in names]
    group = str(uuid.uuid4())
    calls: list[Call] = []
    for person in members[:3]:
        calls.append(person.agent.join(group, video_options=await person.camera()))
    await eventually(partial(everyone_receives_everyone, calls), 20, "a 3-party mesh")
    assert all(SFU_ID not in call.media.links for call in calls), "3 members stay a mesh with --sfu-above 4"
    assert {link.direction for call in calls for link in call.media.links.values()} == {"sendrecv"}
    assert sfu_service.sfu is not None
    assert sfu_service.sfu.rooms == {}
    calls.append(members[3].agent.join(group, video_options=await members[3].camera()))
    await eventually(partial(everyone_receives_everyone, calls), 20, "a 4-party mesh")
    assert all(SFU_ID not in call.media.links for call in calls)
    # the fifth: everyone moves to the SFU, and everyone still gets everyone
    calls.append(members[4].agent.join(group, video_options=await members[4].camera()))
    await eventually(lambda: all(SFU_ID in call.media.links for call in calls), 15, "everyone publishing to Janus")
    sfu = sfu_service.sfu
    await eventually(lambda: {len(f) for f in sfu.subscriptions(group).values()} == {4}, 20, "subscriptions")
    before = [frames_from_all(call) for call in calls]
    await eventually(
        lambda: all(
            len(now) == 4 and all(now[name] > before[i].get(name, 0) + 10 for name in now)
            for i, now in enumerate(frames_from_all(call) for call in calls)
        ),
        20,
        "video from everyone to everyone through the SFU",
    )
    for call in calls:
        assert state_of(call) is CallState.CONNECTED
        assert {link.direction for user_id, link in call.media.links.items() if user_id != SFU_ID} == {"recvonly"}
        assert not call.call_end_reason
