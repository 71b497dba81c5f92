"""1:1 calls, end to end: real aiortc peer connections over loopback, through the real service."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from labkit import CallDirection, CallState, RemoteParticipantState, VideoOptions

from ..helpers import Factory, eventually, frames_arrive


def dominant_frequency(path: Path) -> float:
    """The strongest frequency in a mono 16-bit WAV file."""
    with wave.open(str(path)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float64)
        rate = wav.getframerate()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


async def test_audio_call_carries_each_tone_both_ways(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    assert alice.devices.tone_frequency != bob.devices.tone_frequency
    states: list[CallState] = []
    call = alice.agent.start_call([bob.agent.identifier])
    call.on("state_changed", lambda event: states.append(event.value))
    assert call.direction is CallDirection.OUTGOING
    incoming = await bob.agent.wait_for_incoming_call()
    assert incoming.caller_info.display_name == "Alice"
    assert incoming.caller_info.identifier == alice.agent.identifier
    assert incoming.is_video_call is False
    bob_call = await incoming.accept()
    assert bob_call.direction is CallDirection.INCOMING
    await call.wait_for_state("Connected")
    await bob_call.wait_for_state("Connected")
    await eventually(lambda: alice.speaker_level() > -30 and bob.speaker_level() > -30, what="tones heard")
    assert states[:3] == [CallState.CONNECTING, CallState.RINGING, CallState.CONNECTED]
    (remote,) = call.remote_participants
    assert remote.display_name == "Bob"
    assert remote.state is RemoteParticipantState.CONNECTED
    assert remote.audio_level_dbfs() > -30
    assert not remote.video_streams[0].is_available
    await eventually(lambda: remote.is_speaking, what="Bob speaking (his tone)")
    # each side's speaker plays the *other* side's tone: record both and find the pitch
    for person in (alice, bob):
        person.devices.speaker_output().record_to(tmp_path / f"{person.name}.wav")
    await asyncio.sleep(1.0)
    for person in (alice, bob):
        person.devices.speaker_output().stop_recording()
    assert dominant_frequency(tmp_path / "Bob.wav") == pytest.approx(alice.devices.tone_frequency, abs=3)
    assert dominant_frequency(tmp_path / "Alice.wav") == pytest.approx(bob.devices.tone_frequency, abs=3)


async def test_video_call_delivers_each_sides_synthetic_camera(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=VideoOptions([await alice.camera(1)]))
    incoming = await bob.agent.wait_for_incoming_call()
    assert incoming.is_video_call
    bob_call = await incoming.accept(video_options=await bob.camera(2))
    await call.wait_for_state("Connected")
    assert call.is_local_video_started
    to_alice = call.remote_participants[0].video_streams[0]
    to_bob = bob_call.remote_participants[0].video_streams[0]
    await to_alice.next_frame()
    await to_bob.next_frame()
    await asyncio.sleep(1.0)
    assert to_alice.is_available
    assert to_bob.is_available
    assert to_alice.size == (640, 480)
    first, second = to_alice.latest_stamp(), None
    await asyncio.sleep(0.3)
    second = to_alice.latest_stamp()
    assert first is not None
    assert second is not None
    assert first.camera == second.camera == 2  # Bob sends his camera 2
    assert second.frame_number > first.frame_number
    bob_sees = to_bob.latest_stamp()
    assert bob_sees is not None
    assert bob_sees.camera == 1
    await eventually(lambda: to_alice.frame_rate >= 20, timeout=5, what="20 frames a second")  # a busy moment dips
    # the two cameras really look different: colour bars versus a checkerboard
    alice_picture, bob_picture = to_bob.latest_image(), to_alice.latest_image()
    assert alice_picture is not None
    assert bob_picture is not None
    assert len({tuple(p) for p in alice_picture[240, ::40] // 64}) > len(
        {tuple(p) for p in bob_picture[240, ::40] // 64}
    )


async def test_accept_without_video_leaves_that_direction_dark(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera())
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    to_alice = call.remote_participants[0].video_streams[0]
    to_bob = bob_call.remote_participants[0].video_streams[0]
    await to_bob.next_frame()
    await frames_arrive(to_bob, 20)
    assert not to_alice.is_available
    assert to_alice.frames_received == 0
    assert not bob_call.is_local_video_started


async def test_reject_ends_the_callers_call_with_603(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    incoming = await bob.agent.wait_for_incoming_call()
    await incoming.reject()
    await call.wait_for_state("Disconnected")
    assert call.call_end_reason is not None
    assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (603, 0)
    reason = await incoming.wait_for_end()
    assert (reason.code, reason.sub_code) == (603, 0)
    assert alice.agent.calls == ()


async def test_cancel_before_answer_is_487_for_the_callee(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    incoming = await bob.agent.wait_for_incoming_call()
    await call.wait_for_state("Ringing")
    await call.hang_up()
    assert call.state is CallState.DISCONNECTED
    assert call.call_end_reason is not None
    assert call.call_end_reason.code == 0
    reason = await incoming.wait_for_end()
    assert (reason.code, reason.sub_code) == (487, 0)


async def test_calling_an_unknown_user_ends_with_404(people: Factory) -> None:
    alice = await people("Alice")
    call = alice.agent.start_call(["8:acs:00000000-0000-0000-0000-000000000000_nobody"])
    await call.wait_for_state("Disconnected")
    assert call.call_end_reason is not None
    assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (404, 0)


async def test_no_answer_before_the_ring_timeout_ends_with_408(people: Factory) -> None:
    alice, bob = await people("Alice", ring_timeout=1.0), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    incoming = await bob.agent.wait_for_incoming_call()
    await call.wait_for_state("Disconnected", timeout=5)
    assert call.call_end_reason is not None
    assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (408, 0)
    assert (await incoming.wait_for_end()).code == 408


async def test_hang_up_ends_the_call_on_both_sides(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    await bob_call.hang_up()
    await call.wait_for_state("Disconnected")
    assert call.call_end_reason is not None
    assert call.call_end_reason.code == 0
    assert "Bob hung up" in call.call_end_reason.message
    assert bob_call.state is CallState.DISCONNECTED
    assert bob.agent.calls == () == alice.agent.calls


async def test_two_people_on_the_same_synthetic_camera_still_look_different(people: Factory) -> None:
    """Each client's synthetic cameras carry its own colour round the edge, and the owner's name."""
    alice, bob = await people("Alice"), await people("Bob")
    assert alice.devices.accent != bob.devices.accent
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera(1))
    await call.wait_for_state("Connected")
    seen_by_bob = bob_call.remote_participants[0].video_streams[0]
    await eventually(lambda: bool(call.remote_participants and call.remote_participants[0].video_streams), what="video")
    seen_by_alice = call.remote_participants[0].video_streams[0]
    for stream in (seen_by_bob, seen_by_alice):
        await stream.next_frame(timeout=10)
    await asyncio.sleep(0.5)  # past the first, blurrier keyframe
    for stream, sender in ((seen_by_bob, alice), (seen_by_alice, bob)):
        picture = stream.latest_image()
        assert picture is not None
        edge = picture[100:380, 2:6].reshape(-1, 3).mean(axis=0)  # the left edge, below the stamp band
        assert abs(edge - sender.devices.accent).max() < 40, (edge, sender.devices.accent)
