"""The network lab on real calls: the receiver measures what was configured, and the call adapts."""

from __future__ import annotations

import asyncio

import pytest

from labkit import Call
from labkit.calling import Features
from labkit.inspector import InspectorFeature
from labkit.network_lab import NetworkConditions, NetworkLabFeature

from ..helpers import Factory, eventually, frames_during, one_way_video_call, samples_after, state_of


def lab(call: Call) -> NetworkLabFeature:
    feature = call.feature(Features.NETWORK_LAB)
    assert isinstance(feature, NetworkLabFeature)
    return feature


def first_transmission_loss(inspector: InspectorFeature) -> float:
    """The share of RTP packets that never arrived the first time, from the gaps in each stream's sequence numbers."""
    expected = received = 0
    streams: dict[int, set[int]] = {}
    for header in inspector.rtp():
        if header.direction == "received" and header.kind in ("audio", "video"):
            streams.setdefault(header.ssrc, set()).add(header.sequence_number)
    for numbers in streams.values():
        expected += max(numbers) - min(numbers) + 1
        received += len(numbers)
    return 1 - received / expected


@pytest.mark.parametrize("loss", [0.1, 0.3])
async def test_configured_loss_is_what_the_receiver_measures(people: Factory, loss: float) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    seen = bob_call.feature(Features.INSPECTOR)
    assert isinstance(seen, InspectorFeature)
    lab(call).set(NetworkConditions(loss=loss), direction="send")
    await asyncio.sleep(0.5)
    seen.start_capture()
    await asyncio.sleep(8.0)
    seen.stop_capture()
    measured = first_transmission_loss(seen)
    assert measured == pytest.approx(loss, abs=0.05)
    counts = lab(call).counts()["send"]
    assert counts.lost / counts.datagrams == pytest.approx(loss, abs=0.05)
    assert state_of(call).value == "Connected"


async def test_a_200_ms_delay_shows_in_the_round_trip_time_and_goes_at_the_next_report(people: Factory) -> None:
    _, _, call, _ = await one_way_video_call(people)
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    lab(call).set(NetworkConditions(delay_ms=200), direction="send")

    def audio_rtt() -> float:
        sample = next(s for s in reversed(stats.samples) if (s.direction.value, s.kind.value) == ("send", "audio"))
        value = sample.metrics.get("rtt_in_ms")
        return float(value) if isinstance(value, float) else 0.0

    await eventually(lambda: len(stats.samples) > 0 and audio_rtt() > 150, timeout=8, what="the RTT to rise")
    measured = []
    for _ in range(12):  # about six RTCP reports
        await samples_after(stats, 1)
        measured.append(audio_rtt())
    # each report's round trip is the network's 200 ms plus the time both ends took to handle it;
    # the smallest of several is the network's (a busy machine only ever adds)
    assert min(measured) == pytest.approx(200, abs=30), measured
    lab(call).clear()
    # W3C's roundTripTime is the latest measurement: aiortc's moving average takes 8 reports to fall below 60
    await eventually(lambda: audio_rtt() < 60, timeout=4, what="the RTT to fall once the delay is gone")
    await stats.dispose()


async def test_conditions_changed_mid_call_take_effect_at_once_and_lose_no_call(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    network = lab(call)
    stream = bob_call.remote_participants[0].video_streams[0]
    network.set(NetworkConditions(delay_ms=300))
    before = network.counts()["send"].delayed
    await eventually(lambda: network.counts()["send"].delayed > before + 20, timeout=1.0, what="the delay applied")
    assert network.conditions(direction="receive").delay_ms == 300
    network.set(NetworkConditions(loss=0.3, jitter_ms=40))
    await asyncio.sleep(2.0)
    network.clear()
    await asyncio.sleep(0.2)
    assert network.conditions().is_perfect
    # the video recovers: how fast is aiortc's receive path (its jitter buffer waits for a keyframe)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    while await frames_during(stream, 1.0) < 15:
        assert loop.time() < deadline, "the video did not recover within 10 s of a perfect network"
    assert state_of(call).value == "Connected"
    assert state_of(bob_call).value == "Connected"


async def test_a_bandwidth_cap_makes_the_sender_back_off(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=1.0)

    def video_bitrate() -> float:
        sample = next(s for s in reversed(stats.samples) if (s.direction.value, s.kind.value) == ("send", "video"))
        value = sample.metrics.get("bitrate")
        return float(value) if isinstance(value, float) else 0.0

    await eventually(lambda: bool(stats.samples) and video_bitrate() > 650_000, timeout=20, what="video at 650 kbit/s")
    lab(call).schedule([(0, NetworkConditions(bandwidth_kbps=300)), (10, NetworkConditions())], direction="send")
    await eventually(lambda: video_bitrate() < 400_000, timeout=15, what="the sent video bitrate under 400 kbit/s")
    assert lab(call).counts()["send"].queue_drops > 0
    await eventually(lambda: stream.size[0] < 640, timeout=5, what="a smaller picture at Bob")
    assert await frames_during(stream, 2.0) > 20  # the video goes on, smaller (it froze before)
    await eventually(lambda: lab(call).conditions().is_perfect, timeout=11, what="the schedule to lift the cap")
    lifted = asyncio.get_running_loop().time()
    # measured 8 to 12 s on an idle machine; the bound leaves room for a loaded one (make test)
    await eventually(lambda: video_bitrate() > 600_000, timeout=30, what="the sent video bitrate back above 600 kbit/s")
    print(f"\nabove 600 kbit/s {asyncio.get_running_loop().time() - lifted:.1f} s after the cap lifted")
    await stats.dispose()
