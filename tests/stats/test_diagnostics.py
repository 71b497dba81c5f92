"""User-facing diagnostics driven by real conditions: a muted tone, a camera or microphone
file that ends, a broken camera file, removed devices, and packet loss on the RTP path."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from labkit import Call, LocalVideoStream
from labkit.calling import Features
from labkit.stats import DiagnosticChanged, DiagnosticQuality, quality
from labkit.stats.diagnostics import OVERLOAD_GRACE

from ..helpers import Factory, Person, eventually, video_call, write_tone, write_video


def test_quality_thresholds() -> None:
    assert quality(0.0, 5, 20) is DiagnosticQuality.GOOD
    assert quality(0.05, 5, 20) is DiagnosticQuality.POOR
    assert quality(0.0, 40, 20) is DiagnosticQuality.POOR
    assert quality(0.0, 5, 600) is DiagnosticQuality.BAD
    assert quality(0.2, 5, 20) is DiagnosticQuality.BAD


async def audio_call(people: Factory, **accept: Any) -> tuple[Person, Person, Call, Call]:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], **accept)
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    return alice, bob, call, bob_call


async def test_speaking_while_muted_follows_the_tone_microphone(people: Factory) -> None:
    _, _, call, _ = await audio_call(people)
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    changes: list[DiagnosticChanged] = []
    diagnostics.media.on("diagnostic_changed", changes.append)
    assert diagnostics.media.get_latest()["speaking_while_microphone_is_muted"] is False
    await call.mute()
    await eventually(lambda: diagnostics.media.get_latest()["speaking_while_microphone_is_muted"] is True)
    await call.unmute()
    await eventually(lambda: diagnostics.media.get_latest()["speaking_while_microphone_is_muted"] is False)
    flags = [(c.diagnostic, c.value, c.value_type) for c in changes]
    assert flags == [
        ("speaking_while_microphone_is_muted", True, "DiagnosticFlag"),
        ("speaking_while_microphone_is_muted", False, "DiagnosticFlag"),
    ]
    latest = diagnostics.get_latest()
    assert latest["network_receive_quality"] is DiagnosticQuality.GOOD
    assert latest["network_send_quality"] is DiagnosticQuality.GOOD
    assert latest["no_network"] is False


async def test_a_camera_file_that_ends_is_a_camera_freeze(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    camera = alice.devices.add_file_camera(write_video(tmp_path / "short.webm", seconds=1.0), loop=False)
    call = alice.agent.start_call([bob.agent.identifier], video_options=LocalVideoStream(camera))
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    await eventually(lambda: diagnostics.media.get_latest()["camera_freeze"] is True, timeout=8)
    assert diagnostics.media.get_latest()["camera_start_failed"] is False
    await call.start_video(await alice.camera(1))  # a working camera ends the freeze
    await eventually(lambda: diagnostics.media.get_latest()["camera_freeze"] is False, timeout=5)


async def test_a_camera_that_cannot_start(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    clip = write_video(tmp_path / "clip.webm")
    camera = alice.devices.add_file_camera(clip)
    (tmp_path / "clip.webm").write_bytes(b"this is no longer a video")  # broken after it was listed
    call = alice.agent.start_call([bob.agent.identifier], video_options=LocalVideoStream(camera))
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    await eventually(lambda: diagnostics.media.get_latest()["camera_start_failed"] is True, timeout=5)


async def test_a_microphone_that_stops_is_not_functioning(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    microphone = alice.devices.add_file_microphone(write_tone(tmp_path / "tone.wav", seconds=0.5), loop=False)
    await alice.devices.select_microphone(microphone)
    call = alice.agent.start_call([bob.agent.identifier])
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    await eventually(lambda: diagnostics.media.get_latest()["microphone_not_functioning"] is True, timeout=6)
    tone = next(m for m in await alice.devices.get_microphones() if m.name.startswith("Tone"))
    await alice.devices.select_microphone(tone)
    await eventually(lambda: diagnostics.media.get_latest()["microphone_not_functioning"] is False, timeout=5)


async def test_no_devices_enumerated(people: Factory) -> None:
    alice, _, call, _ = await audio_call(people)
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    for microphone in await alice.devices.get_microphones():
        alice.devices.remove_device(microphone)
    await eventually(lambda: diagnostics.media.get_latest()["no_microphone_devices_enumerated"] is True)
    assert diagnostics.media.get_latest()["no_speaker_devices_enumerated"] is False
    for speaker in await alice.devices.get_speakers():
        alice.devices.remove_device(speaker)
    await eventually(lambda: diagnostics.media.get_latest()["no_speaker_devices_enumerated"] is True)
    assert call.state.value == "Connected"  # the call goes on without them


def drop_packets(call: Call, fraction: float, seed: int = 7) -> None:
    """Lose ``fraction`` of the RTP packets arriving on ``call``'s peer connections (network loss)."""
    chance = random.Random(seed)
    for participant in call.remote_participants:
        pc = call.peer_connection(participant)
        assert pc is not None
        transport = pc.getTransceivers()[0].receiver.transport
        inner = transport._handle_rtp_data  # noqa: SLF001  (loss below labkit, where a network loses packets)

        async def lossy(data: bytes, arrival_time_ms: int, inner: Any = inner) -> None:
            if chance.random() >= fraction:
                await inner(data, arrival_time_ms=arrival_time_ms)

        transport._handle_rtp_data = lossy  # type: ignore[method-assign]  # noqa: SLF001


async def test_packet_loss_shows_in_stats_and_network_quality(people: Factory) -> None:
    _alice, _bob, call, bob_call = await video_call(people, bob_camera=2)
    bob_diagnostics = bob_call.feature(Features.USER_FACING_DIAGNOSTICS)
    alice_diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    stats = bob_call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await eventually(lambda: len(stats.samples) >= 8)
    assert bob_diagnostics.network.get_latest()["network_receive_quality"] is DiagnosticQuality.GOOD
    drop_packets(bob_call, 0.25)  # a quarter of what reaches Bob is lost on the way
    await eventually(
        lambda: bob_diagnostics.network.get_latest()["network_receive_quality"] is DiagnosticQuality.BAD, timeout=8
    )
    lost = [
        s.metrics["packets_lost_per_second"]
        for s in stats.samples
        if (s.direction.value, s.kind.value) == ("receive", "audio")
    ]
    assert max(lost) > 5  # of ~50 audio packets a second
    # Alice learns it from Bob's RTCP receiver reports: her sending is degraded too
    await eventually(
        lambda: alice_diagnostics.network.get_latest()["network_send_quality"] > DiagnosticQuality.GOOD, timeout=10
    )
    assert bob_diagnostics.network.get_latest()["no_network"] is False


async def test_one_lost_packet_is_not_poor_quality(people: Factory) -> None:
    """Loss counts over two seconds: one audio packet in half a second (4 %) is not Poor."""
    _, _, _, bob_call = await audio_call(people)
    diagnostics = bob_call.feature(Features.USER_FACING_DIAGNOSTICS)
    stats = bob_call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await eventually(lambda: len(stats.samples) >= 8, timeout=10)
    changes: list[DiagnosticChanged] = []
    diagnostics.network.on("diagnostic_changed", changes.append)
    (participant,) = bob_call.remote_participants
    pc = bob_call.peer_connection(participant)
    assert pc is not None
    transport = pc.getTransceivers()[0].receiver.transport
    inner = transport._handle_rtp_data  # noqa: SLF001  (loss below labkit, where a network loses packets)
    arrived = 0

    async def lose_the_tenth(data: bytes, arrival_time_ms: int) -> None:
        nonlocal arrived
        arrived += 1
        if arrived != 10:
            await inner(data, arrival_time_ms=arrival_time_ms)

    transport._handle_rtp_data = lose_the_tenth  # type: ignore[method-assign]  # noqa: SLF001
    await eventually(lambda: arrived > 10 + 150, timeout=10)  # three seconds of audio after the loss
    lost = [
        s.metrics["packets_lost_per_second"]
        for s in stats.samples
        if (s.direction.value, s.kind.value) == ("receive", "audio")
    ]
    (loss,) = [rate for rate in lost if rate]  # one sample saw the loss: one packet in half a second
    assert 1 < loss < 3
    assert [c for c in changes if c.diagnostic == "network_receive_quality"] == []
    assert diagnostics.network.get_latest()["network_receive_quality"] is DiagnosticQuality.GOOD


async def test_a_starved_computer_is_not_blamed_on_the_network(people: Factory) -> None:
    """The engine's loop held up (as a process short of CPU is): 'cpu_overloaded', and the network stays Good."""
    _alice, _bob, call, _bob_call = await video_call(people)
    diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await eventually(
        lambda: diagnostics.network.get_latest()["network_send_quality"] is DiagnosticQuality.GOOD,
        timeout=10,
        what="a Good network to start from",
    )
    changes: list[DiagnosticChanged] = []
    diagnostics.network.on("diagnostic_changed", changes.append)
    engine = call.media.engine
    starving = True

    async def starve() -> None:  # the engine's thread busy 0.35 s of every 0.5 s
        while starving:
            engine.call_soon(time.sleep, 0.35)
            await asyncio.sleep(0.5)

    hog = asyncio.get_running_loop().create_task(starve())
    try:
        await eventually(lambda: diagnostics.media.get_latest()["cpu_overloaded"] is True, timeout=5, what="overload")
        await asyncio.sleep(4.0)
        assert engine.loop_lag() > 0.2
        jitters = [s.metrics.get("jitter_in_ms") for s in stats.samples[-16:]]
        assert max(float(j) for j in jitters if isinstance(j, int | float)) > 30, jitters  # Poor, by the numbers
    finally:
        starving = False
        await hog
    blamed = [c for c in changes if c.diagnostic.startswith("network_") and c.value is not DiagnosticQuality.GOOD]
    assert blamed == [], f"the network was blamed for this computer's delay: {blamed}"
    await eventually(lambda: diagnostics.media.get_latest()["cpu_overloaded"] is False, timeout=6, what="recovered")
    await asyncio.sleep(OVERLOAD_GRACE + 1.5)  # judged again, on measures the overload no longer inflates
    blamed = [c for c in changes if c.diagnostic.startswith("network_") and c.value is not DiagnosticQuality.GOOD]
    assert blamed == [], f"the network was blamed after the overload: {blamed}"
    assert diagnostics.network.get_latest()["network_send_quality"] is DiagnosticQuality.GOOD
