"""Every call control, verified on the media the other side actually receives."""

from __future__ import annotations

import asyncio

import pytest

from labkit import CallState, LabkitError, RemoteParticipantState

from ..helpers import Factory, eventually, frames_arrive, frames_during, state_of, video_call


async def test_mute_sends_real_silence_and_tells_the_other_side(people: Factory) -> None:
    _alice, bob, call, bob_call = await video_call(people)
    seen_by_bob = bob_call.remote_participants[0]
    muted_events: list[bool] = []
    seen_by_bob.on("is_muted_changed", lambda event: muted_events.append(event.value))
    own_events: list[bool] = []
    call.on("is_muted_changed", lambda event: own_events.append(event.value))
    await call.mute()
    assert call.is_muted
    await eventually(lambda: bob.speaker_level() < -60, what="silence at Bob's speaker")
    await eventually(lambda: seen_by_bob.is_muted and muted_events == [True], what="Bob sees Alice muted")
    assert not seen_by_bob.is_speaking
    await call.unmute()
    await eventually(lambda: bob.speaker_level() > -30, what="the tone back at Bob's speaker")
    await eventually(lambda: not seen_by_bob.is_muted, what="Bob sees Alice unmuted")
    assert own_events == [True, False]


async def test_stop_and_start_video_stops_and_resumes_frames(people: Factory) -> None:
    alice, _bob, call, bob_call = await video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    availability: list[bool] = []
    stream.on("is_available_changed", lambda event: availability.append(event.value))
    local = call.local_video_streams[0]
    await call.stop_video(local)
    assert not call.is_local_video_started
    assert call.local_video_streams == ()
    await eventually(lambda: not stream.is_available, what="stream unavailable")
    await asyncio.sleep(0.3)
    assert await frames_during(stream, 1.0) == 0
    assert not local.is_active  # the camera was released
    await call.start_video(await alice.camera(1))
    await stream.wait_until_available()
    await stream.next_frame()
    await frames_arrive(stream, 20)
    assert availability == [False, True]


async def test_switch_camera_changes_what_the_other_side_receives(people: Factory) -> None:
    alice, _bob, call, bob_call = await video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 1, what="camera 1 received")
    cameras = await alice.devices.get_cameras()
    local = call.local_video_streams[0]
    await local.switch_source(cameras[1])
    assert local.source == cameras[1]
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 2, what="camera 2 received")
    # the encoder survived the switch: frames keep flowing at full rate
    await frames_arrive(stream, 20)
    await local.switch_source(cameras[0])
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 1, what="camera 1 again")


async def test_hold_stops_all_media_and_resume_restores_it(people: Factory) -> None:
    alice, bob, call, bob_call = await video_call(people)
    to_bob = bob_call.remote_participants[0].video_streams[0]
    to_alice = call.remote_participants[0].video_streams[0]
    await call.hold()
    assert call.state is CallState.LOCAL_HOLD
    await bob_call.wait_for_state("RemoteHold")
    assert bob_call.remote_participants[0].state is RemoteParticipantState.HOLD
    await asyncio.sleep(0.5)
    assert await frames_during(to_bob, 1.0) == 0
    assert await frames_during(to_alice, 0.5) == 0
    assert bob.speaker_level() < -60
    assert alice.speaker_level() < -60
    assert not to_bob.is_available
    await call.resume()
    assert state_of(call) is CallState.CONNECTED
    await bob_call.wait_for_state("Connected")
    await to_bob.next_frame()
    await frames_arrive(to_bob, 20)
    await frames_arrive(to_alice, 20)
    await eventually(lambda: bob.speaker_level() > -30 and alice.speaker_level() > -30, what="audio back")


async def test_controls_refuse_clearly_once_the_call_has_ended(people: Factory) -> None:
    _alice, _bob, call, bob_call = await video_call(people)
    await call.hang_up()
    with pytest.raises(LabkitError, match="ended"):
        await call.mute()
    await call.hang_up()  # hanging up twice is harmless
    with pytest.raises(TypeError, match="LocalVideoStream"):
        await bob_call.start_video("camera 1")  # type: ignore[arg-type]


async def test_both_sides_hold_and_resume_at_once(people: Factory) -> None:
    """Two aiortc agents renegotiate at the same moment: no offers cross, nothing waits out a timeout."""
    _alice, _bob, call, bob_call = await video_call(people)
    to_bob = bob_call.remote_participants[0].video_streams[0]
    to_alice = call.remote_participants[0].video_streams[0]
    await asyncio.wait_for(asyncio.gather(call.hold(), bob_call.hold()), 5)  # the negotiation timeout is 10 s
    assert call.state is CallState.LOCAL_HOLD
    assert bob_call.state is CallState.LOCAL_HOLD
    await asyncio.sleep(0.5)
    assert await frames_during(to_bob, 1.0) == 0
    assert await frames_during(to_alice, 0.5) == 0
    await asyncio.wait_for(asyncio.gather(call.resume(), bob_call.resume()), 5)
    await call.wait_for_state("Connected")
    await bob_call.wait_for_state("Connected")
    await to_bob.next_frame()
    await to_alice.next_frame()
    await frames_arrive(to_bob, 20)
    await frames_arrive(to_alice, 20)
    # the link still renegotiates afterwards, from either side
    for holder, other in ((bob_call, call), (call, bob_call)):
        await asyncio.wait_for(holder.hold(), 5)
        await other.wait_for_state("RemoteHold")
        await asyncio.wait_for(holder.resume(), 5)
        await other.wait_for_state("Connected")
