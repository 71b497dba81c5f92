"""Rooms spread over two Janus processes: each call's room lives on one; losing one ends only its calls."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from functools import partial

import pytest

from labkit import Call, CallState, LocalIdentityClient
from labkit.service import EmbeddedService, SfuConfiguration, start_service

from ..conftest import TEST_LIMITS
from ..helpers import Factory, eventually, has_frames, state_of

pytestmark = pytest.mark.slow


@pytest.fixture
def sfu_service(identity: LocalIdentityClient) -> Iterator[EmbeddedService]:
    """The service with two Janus processes of its own (labkit serve --sfu janus --sfu-instances 2)."""
    svc = start_service(identity=identity, limits=TEST_LIMITS, sfu=SfuConfiguration(above=0, instances=2))
    yield svc
    svc.stop()


def receives_all(calls: list[Call]) -> bool:
    return all(
        len(call.remote_participants) == len(calls) - 1 and all(has_frames(p, 5) for p in call.remote_participants)
        for call in calls
    )


async def test_two_calls_land_on_two_janus_instances_and_one_failing_ends_only_its_call(
    sfu_people: Factory, sfu_service: EmbeddedService
) -> None:
    sfu = sfu_service.sfu
    assert sfu is not None
    assert len(sfu.instances) == 2
    people = [await sfu_people(name) for name in ("Ann", "Ben", "Cat", "Dan", "Eve", "Fay")]
    groups = [str(uuid.uuid4()), str(uuid.uuid4())]
    first = [person.agent.join(groups[0], video_options=await person.camera()) for person in people[:3]]
    second = [person.agent.join(groups[1], video_options=await person.camera()) for person in people[3:]]
    await eventually(partial(receives_all, first), 20, "the first class")
    await eventually(partial(receives_all, second), 20, "the second class")
    one, two = sfu.instance_of(groups[0]), sfu.instance_of(groups[1])
    assert one is not None
    assert two is not None
    assert one is not two, "the second room goes to the instance with fewer rooms"
    assert one.process is not None
    assert two.process is not None
    assert one.process.pid != two.process.pid
    # the first room's Janus dies: its call ends, naming it; the other class goes on
    assert one.process.pid is not None
    os.kill(one.process.pid, signal.SIGKILL)
    for call in first:
        await call.wait_for_state(CallState.DISCONNECTED, timeout=5)
        assert call.call_end_reason is not None
        assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (503, 3102)
    before = {p.display_name: p.video_streams[0].frames_received for p in second[0].remote_participants}
    await eventually(
        lambda: all(
            p.video_streams[0].frames_received > before[p.display_name] + 10 for p in second[0].remote_participants
        ),
        10,
        "the second class goes on",
    )
    assert all(state_of(call) is CallState.CONNECTED for call in second)
    # a new group call goes to the instance still up
    group = str(uuid.uuid4())
    third = [person.agent.join(group) for person in people[:2]]
    for call in third:
        await call.wait_for_remote_participants(1, timeout=15)
    await eventually(lambda: all(state_of(c) is CallState.CONNECTED for c in third), 15, "a new call")
    assert sfu.instance_of(third[0].id) is two
