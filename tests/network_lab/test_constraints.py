"""Send constraints (ACS ``call.setConstraints``) on real calls, measured at the far end."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from labkit import OutgoingVideoConstraints, VideoConstraints
from labkit.calling import Features
from labkit.errors import ArgumentError

from ..helpers import Factory, eventually, frames_during, one_way_video_call


async def test_a_320x240_constraint_shows_320x240_at_the_far_end_and_lifts(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    assert stream.size == (640, 480)
    await call.set_constraints({"video": {"send": {"frameHeight": {"max": 240}}}})
    await eventually(lambda: stream.size == (320, 240), timeout=3, what="320x240 at Bob")
    assert call.constraints == VideoConstraints(OutgoingVideoConstraints(max_height=240))
    await call.set_constraints({})
    await eventually(lambda: stream.size == (640, 480), timeout=3, what="640x480 again")


async def test_a_10_fps_constraint_shows_about_10_fps_at_the_far_end(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    assert await frames_during(stream, 2.0) > 50
    await call.set_constraints(VideoConstraints(OutgoingVideoConstraints(max_frame_rate=10)))
    await asyncio.sleep(0.5)
    frames = await frames_during(stream, 3.0)
    assert frames == pytest.approx(30, abs=5)


async def test_a_bitrate_constraint_caps_what_is_sent(people: Factory) -> None:
    _, _, call, _ = await one_way_video_call(people)
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)

    def sent(metric: str) -> float:
        sample = next(s for s in reversed(stats.samples) if (s.direction.value, s.kind.value) == ("send", "video"))
        value = sample.metrics.get(metric)
        return float(value) if isinstance(value, float | int) else -1.0

    await eventually(lambda: bool(stats.samples) and sent("bitrate") > 400_000, timeout=8, what="video above 400 kbps")
    await call.set_constraints({"video": {"send": {"bitrate": {"max": 150_000}}}})
    await eventually(lambda: sent("target_bitrate") == 150_000, timeout=3, what="the encoder's target capped")
    await asyncio.sleep(2.0)  # the encoder's rate control settles
    since = len(stats.samples)
    await asyncio.sleep(2.0)
    rates = [
        float(s.metrics["bitrate"])
        for s in stats.samples[since:]
        if (s.direction.value, s.kind.value) == ("send", "video") and isinstance(s.metrics.get("bitrate"), float)
    ]
    assert len(rates) >= 3
    assert statistics.mean(rates) < 200_000, rates  # over 2 s: one keyframe may fill a half-second sample
    await stats.dispose()


async def test_bad_constraints_say_what_is_wrong(people: Factory) -> None:
    _, _, call, _ = await one_way_video_call(people)
    with pytest.raises(ArgumentError, match="frameHeight"):
        await call.set_constraints({"video": {"send": {"height": 240}}})
    with pytest.raises(ArgumentError, match="max_frame_rate"):
        await call.set_constraints({"video": {"send": {"frameRate": {"max": 0}}}})
    with pytest.raises(ArgumentError):
        await call.set_constraints("240p")  # type: ignore[arg-type]
    assert call.constraints == VideoConstraints()


async def test_the_offering_agent_chooses_h264_and_it_plays(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    for person in (alice, bob):  # whichever side offers, it puts H.264 first
        person.agent.video_codecs = ("H264", "VP8")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera(2))
    await call.wait_for_state("Connected")
    stream = bob_call.remote_participants[0].video_streams[0]
    await stream.next_frame()
    for side in (call, bob_call):
        link = side.media.links[side.remote_participants[0].user_id]
        assert link.negotiated_codecs()["video"][0].mimeType == "video/H264"
    assert await frames_during(stream, 2.0) > 40
    await eventually(lambda: stream.latest_stamp() is not None, timeout=3, what="Alice's stamped frames at Bob")
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await eventually(lambda: len(stats.samples) > 0, timeout=5, what="a stats sample")
    assert {s.metrics["codec_name"] for s in stats.samples if s.kind.value == "video"} == {"H264"}
    await stats.dispose()


async def test_an_unknown_codec_is_refused_clearly(people: Factory) -> None:
    alice = await people("Alice")
    with pytest.raises(ArgumentError, match="VP8, H264"):
        alice.agent.video_codecs = ("AV1",)
    assert alice.agent.video_codecs == ("VP8",)
