"""Group calls through a real Janus: everyone receives everyone once, published once."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial

import pytest

from labkit import Call, CallState, OutgoingVideoConstraints, RemoteParticipant, RemoteParticipantState
from labkit.calling import Features
from labkit.calling.device_manager import TONE_FREQUENCIES
from labkit.protocol.messages import SFU_ID
from labkit.service import EmbeddedService

from ..helpers import (
    Factory,
    Person,
    ToneRecorder,
    dominant_frequency,
    eventually,
    frames_arrive,
    has_stamp,
    level_dbfs,
    samples_after,
    state_of,
)

pytestmark = pytest.mark.slow


def camera_of(index: int) -> int:
    """Members alternate the two synthetic cameras, so a crossed feed shows in the stamps."""
    return index % 2 + 1


CLASSROOM_VIDEO = OutgoingVideoConstraints(max_height=240, max_frame_rate=15)
"""Six agents in one process share two cores: each sends 320x240 at 15 fps, as a class would on a laptop."""


async def join_all(members: list[Person], group: str) -> dict[str, Call]:
    calls: dict[str, Call] = {}
    for index, person in enumerate(members):
        calls[person.name] = call = person.agent.join(group, video_options=await person.camera(camera_of(index)))
        await call.set_constraints(CLASSROOM_VIDEO)
    for call in calls.values():
        await call.wait_for_state("Connected", timeout=15)
    return calls


def by_name(call: Call) -> dict[str, RemoteParticipant]:
    return {p.display_name: p for p in call.remote_participants}


def links_are(call: Call, user_ids: set[str]) -> bool:
    return set(call.media.links) == user_ids


def is_muted(participant: RemoteParticipant) -> bool:
    return participant.is_muted


def video_is_off(participant: RemoteParticipant) -> bool:
    return not participant.video_streams[0].is_available


def has_left(call: Call, name: str) -> bool:
    return name not in by_name(call)


async def test_six_agents_through_janus_see_and_hear_everyone(
    sfu_people: Factory, sfu_service: EmbeddedService
) -> None:
    names = ("Ann", "Ben", "Cat", "Dan", "Eve", "Fay")
    members = [await sfu_people(name) for name in names]
    group = str(uuid.uuid4())
    calls = await join_all(members, group)
    recorders = {name: ToneRecorder() for name in names}
    for name, call in calls.items():
        call.media.engine.call_soon(call.media.add_audio_tap, recorders[name])
    for call in calls.values():
        await call.wait_for_remote_participants(5, timeout=15)
    # the media view: one upstream link (to the SFU), one downstream link per participant
    for name, call in calls.items():
        links = call.media.links
        others = {m.agent.user_id for m in members if m.name != name}
        await eventually(partial(links_are, call, {SFU_ID, *others}), 15, f"{name}'s links")
        assert links[SFU_ID].direction == "sendonly"
        assert {links[user_id].direction for user_id in others} == {"recvonly"}
    # the stats say the same: Ann sends once, to the SFU (with its RTT), and receives from each participant
    collector = calls["Ann"].feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await samples_after(collector, 4)
    latest = {(s.participant, s.direction.value, s.kind.value): s.metrics for s in collector.samples[-20:]}
    sent = {key for key in latest if key[1] == "send"}
    assert sent == {("SFU", "send", "audio"), ("SFU", "send", "video")}
    assert {key[0] for key in latest if key[1] == "receive"} == set(names) - {"Ann"}
    rtt = latest[("SFU", "send", "video")]["pair_rtt_in_ms"]
    assert rtt is not None
    assert 0 < rtt < 250  # loopback, but six agents share one process
    assert latest[("SFU", "send", "video")]["bitrate"] > 50_000
    collector.stop_sampling()
    subscriptions = sfu_service.sfu.subscriptions(group)  # type: ignore[union-attr]
    assert {len(feeds) for feeds in subscriptions.values()} == {5}
    # video: each stream decodes the stamp of its sender's camera
    for name, call in calls.items():
        for index, person in enumerate(members):
            if person.name == name:
                continue
            stream = by_name(call)[person.name].video_streams[0]
            await eventually(partial(has_stamp, stream), 20, f"{name} decoding {person.name}'s video")
            stamp = stream.latest_stamp()
            assert stamp is not None
            assert stamp.camera == camera_of(index), f"{name} got another camera as {person.name}'s"
    # audio: each sender's own tone, by FFT, at every receiver
    for recorder in recorders.values():
        recorder.take()
    # six agents in one process play out behind real time (0.5 to 0.7 s of audio a second
    # here), so listen for 3 s and need half a second of each tone
    await asyncio.sleep(3.0)
    for name, recorder in recorders.items():
        heard = recorder.take()
        for person in members:
            if person.name == name:
                continue
            samples = heard.get(person.agent.user_id)
            assert samples is not None, f"{name} received no audio from {person.name}"
            assert samples.size >= 24000, f"{name} got {samples.size} samples of {person.name} in 3 s"
            tone = dominant_frequency(samples[-24000:])
            nearest = min(TONE_FREQUENCIES, key=lambda f: abs(f - tone))  # tones are 55 Hz or more apart
            assert nearest == person.devices.tone_frequency, f"{name} heard {tone:.0f} Hz as {person.name}'s tone"
    # Ann mutes, Ben turns his video off: everyone sees it, and Ann's tone goes silent
    await calls["Ann"].mute()
    await calls["Ben"].stop_video()
    for name, call in calls.items():
        if name in ("Ann", "Ben"):
            continue
        ann, ben = by_name(call)["Ann"], by_name(call)["Ben"]
        await eventually(partial(is_muted, ann), 5, f"{name} seeing Ann muted")
        await eventually(partial(video_is_off, ben), 5, f"{name} seeing Ben's video off")
    ann_id, dan_id = members[0].agent.user_id, members[3].agent.user_id
    heard = {}
    for _ in range(16):  # what was in flight when Ann muted plays out first (a loaded process lags)
        recorders["Cat"].take()
        await asyncio.sleep(0.5)
        heard = recorders["Cat"].take()
        if ann_id in heard and heard[ann_id].size >= 4800 and level_dbfs(heard[ann_id][-4800:]) < -60:
            break
    assert level_dbfs(heard[ann_id][-4800:]) < -60, "Ann is muted: Cat should hear nothing from her"
    dan_audio = heard.get(dan_id)
    for _ in range(6):  # Dan's tone goes on (a starved half second may hold mostly concealment: take another)
        if dan_audio is not None and dan_audio.size >= 4800 and level_dbfs(dan_audio) > -40:
            break
        await asyncio.sleep(0.5)
        dan_audio = recorders["Cat"].take().get(dan_id)
    assert dan_audio is not None
    assert level_dbfs(dan_audio) > -40, "Dan is not muted"
    assert (
        min(TONE_FREQUENCIES, key=lambda f: abs(f - dominant_frequency(dan_audio))) == members[3].devices.tone_frequency
    )
    # Fay leaves: the others see her go, and her feeds leave the room
    await calls["Fay"].hang_up()
    for name, call in calls.items():
        if name == "Fay":
            continue
        await eventually(partial(has_left, call, "Fay"), 10, f"{name} seeing Fay leave")
        assert members[5].agent.user_id not in call.media.links
    await eventually(
        lambda: members[5].agent.user_id not in sfu_service.sfu.subscriptions(group),  # type: ignore[union-attr]
        5,
        "Fay's handles closed at the SFU",
    )
    assert {len(feeds) for feeds in sfu_service.sfu.subscriptions(group).values()} == {4}  # type: ignore[union-attr]
    dan_in_eve = by_name(calls["Eve"])["Dan"]
    assert dan_in_eve.state is RemoteParticipantState.CONNECTED
    await frames_arrive(dan_in_eve.video_streams[0], 6, what="the call going on after Fay left")


def frames_of(call: Call) -> dict[str, int]:
    return {p.display_name: p.video_streams[0].frames_received for p in call.remote_participants}


async def test_hold_through_janus_stops_media_both_ways_and_resume_brings_it_back(sfu_people: Factory) -> None:
    members = [await sfu_people(name) for name in ("Ann", "Ben", "Cat")]
    calls = await join_all(members, str(uuid.uuid4()))
    ann, ben = calls["Ann"], calls["Ben"]
    for call in calls.values():
        await call.wait_for_remote_participants(2, timeout=15)
    await eventually(lambda: all(n > 10 for c in calls.values() for n in frames_of(c).values()), 15, "video")
    await ann.hold()
    assert ann.state is CallState.LOCAL_HOLD
    ann_in_ben = by_name(ben)["Ann"]
    await eventually(lambda: ann_in_ben.state is RemoteParticipantState.HOLD, 5, "Ben seeing Ann hold")
    await asyncio.sleep(1.0)  # what was in flight arrives
    at_ann, at_ben = frames_of(ann), frames_of(ben)
    await asyncio.sleep(1.5)
    assert frames_of(ann) == at_ann, "Ann holds: the SFU forwards her nothing"
    assert frames_of(ben)["Ann"] == at_ben["Ann"], "Ann holds: she sends nothing"
    assert frames_of(ben)["Cat"] > at_ben["Cat"] + 10, "Ben and Cat go on"
    await ann.resume()
    assert state_of(ann) is CallState.CONNECTED
    at_ann, at_ben = frames_of(ann), frames_of(ben)
    await eventually(
        lambda: all(frames_of(ann)[n] > at_ann[n] + 5 for n in at_ann) and frames_of(ben)["Ann"] > at_ben["Ann"] + 5,
        10,
        "media both ways again after the resume",
    )
