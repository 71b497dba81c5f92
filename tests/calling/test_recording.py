"""Recording a call to webm: what the file holds, who is told, and what bad requests get."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from labkit import LabkitError
from labkit.calling import Features
from labkit.errors import ErrorCode
from labkit.media import frame_code
from labkit.media.webm_recorder import THREAD_NAME

from ..helpers import Factory, eventually, frames_arrive, video_call


def read_webm(path: Path) -> tuple[list[npt.NDArray[Any]], npt.NDArray[np.float32], float]:
    """Every decoded picture (RGB), the audio (mono float) and the duration in seconds."""
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp8", "opus"]
        duration = float(container.duration or 0) / av.time_base
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)]
    return pictures, np.concatenate(chunks).astype(np.float32), duration


def share(audio: npt.NDArray[np.float32], frequency: float, rate: int = 48_000) -> float:
    """The fraction of the audio's power within 10 Hz of ``frequency``."""
    power = np.abs(np.fft.rfft(audio * np.hanning(audio.size))) ** 2
    bins = np.fft.rfftfreq(audio.size, 1 / rate)
    return float(power[np.abs(bins - frequency) < 10].sum() / power.sum())


async def test_a_recording_holds_both_sides_and_everyone_is_told(people: Factory, tmp_path: Path) -> None:
    alice, bob, call, bob_call = await video_call(people, bob_camera=2)
    recording = call.feature(Features.RECORDING)
    seen_by_bob = bob_call.feature(Features.RECORDING)
    changes: list[bool] = []
    seen_by_bob.on("is_recording_active_changed", lambda event: changes.append(event.value))
    assert not recording.is_recording_active
    assert not seen_by_bob.is_recording_active

    path = await recording.start(tmp_path / "call.webm", fps=15)
    assert recording.is_recording_active
    assert recording.is_recording_here
    await eventually(lambda: seen_by_bob.is_recording_active, what="Bob told of the recording")
    assert bob_call.remote_participants[0].is_recording
    assert not seen_by_bob.is_recording_here
    await asyncio.sleep(3.0)
    assert await recording.stop() == path
    await eventually(lambda: not seen_by_bob.is_recording_active, what="Bob told it stopped")
    # the property changes on the engine thread; its event reaches this loop a moment later
    await eventually(lambda: len(changes) == 2, what="Bob's event that it stopped")
    assert changes == [True, False]
    assert not bob_call.remote_participants[0].is_recording
    assert THREAD_NAME not in {t.name for t in threading.enumerate()}

    pictures, audio, duration = read_webm(path)
    assert 2.5 < duration < 4.5
    # 15 frames/s; a loaded machine drops some (the writer keeps time: 8.7 a second seen with a core busy)
    assert 6 * duration <= len(pictures) <= 15 * 4.5, (len(pictures), duration)
    assert pictures[0].shape == (480, 640, 3)
    # two cells side by side: Bob's camera 2 as received, then Alice's camera 1 as sent,
    # each 640x480 fitted into 320x240 in the middle of its cell
    stamps = [(frame_code.decode(p[120:360, 0:320]), frame_code.decode(p[120:360, 320:640])) for p in pictures[-20:]]
    bobs = [b for b, _ in stamps if b is not None]
    alices = [a for _, a in stamps if a is not None]
    assert len(bobs) >= 10, stamps
    assert len(alices) >= 10, stamps
    assert {s.camera for s in bobs} == {2}
    assert {s.camera for s in alices} == {1}
    assert bobs[-1].frame_number > bobs[0].frame_number  # moving pictures
    # the audio mixes both microphones: Alice's tone as sent and Bob's as received
    late = audio[-48_000:]
    assert share(late, alice.devices.tone_frequency) > 0.2
    assert share(late, bob.devices.tone_frequency) > 0.2
    assert share(late, 1500.0) < 0.01  # and nothing much else


async def test_muting_and_hanging_up_while_recording(people: Factory, tmp_path: Path) -> None:
    alice, bob, call, bob_call = await video_call(people, bob_camera=2)
    recording = call.feature(Features.RECORDING)
    path = await recording.start(tmp_path / "muted.webm", fps=10)
    await call.mute()  # what the recording keeps is what was sent: silence from Alice
    await asyncio.sleep(2.0)
    await call.hang_up()  # the end of the call finishes the file
    assert not recording.is_recording_active
    assert THREAD_NAME not in {t.name for t in threading.enumerate()}
    _, audio, duration = read_webm(path)
    assert duration > 1.5
    # the writer keeps time: if the hang-up came before Bob's last audio did, the file ends in
    # silence (an edge inside the window would spread the tone's power; 0.72 seen once)
    late = np.trim_zeros(audio, "b")[-48_000:]
    assert late.size == 48_000
    assert share(late, alice.devices.tone_frequency) < 0.01
    assert share(late, bob.devices.tone_frequency) > 0.8
    await eventually(lambda: bob_call.state.value == "Disconnected", what="Bob's call ending")
    assert not bob_call.feature(Features.RECORDING).is_recording_active


async def test_bad_recording_requests_get_clear_errors(people: Factory, tmp_path: Path) -> None:
    _, _, call, bob_call = await video_call(people, bob_camera=2)
    recording = call.feature(Features.RECORDING)
    with pytest.raises(LabkitError) as not_recording:
        await recording.stop()
    assert not_recording.value.code is ErrorCode.NOT_RECORDING
    with pytest.raises(LabkitError) as unwritable:
        await recording.start(tmp_path / "no such folder" / "call.webm")
    assert unwritable.value.code is ErrorCode.RECORDING_FAILED
    assert "no such folder" in str(unwritable.value)
    assert not recording.is_recording_active
    with pytest.raises(ValueError, match="even sizes"):
        await recording.start(tmp_path / "odd.webm", width=641)
    await recording.start(tmp_path / "call.webm")
    with pytest.raises(LabkitError) as twice:
        await recording.start(tmp_path / "again.webm")
    assert twice.value.code is ErrorCode.ALREADY_RECORDING
    assert "call.webm" in str(twice.value)
    await recording.stop()
    # none of it harmed the call
    assert call.state.value == "Connected"
    assert await bob_call.remote_participants[0].video_streams[0].next_frame() is not None
    await call.hang_up()
    with pytest.raises(LabkitError) as ended:
        await recording.start(tmp_path / "late.webm")
    assert ended.value.code is ErrorCode.CALL_NOT_FOUND


async def test_a_recording_that_cannot_be_written_says_so_and_the_call_goes_on(people: Factory) -> None:
    """/dev/full opens, then every write fails with ENOSPC: a full disk, for real."""
    _, _, call, bob_call = await video_call(people, bob_camera=2)
    recording = call.feature(Features.RECORDING)
    await recording.start("/dev/full")
    await eventually(lambda: recording.recorder is not None and recording.recorder.error is not None, 10, "ENOSPC")
    with pytest.raises(LabkitError) as failed:
        await recording.stop()
    assert failed.value.code is ErrorCode.RECORDING_FAILED
    assert "No space left on device" in str(failed.value)
    assert not recording.is_recording_active
    assert THREAD_NAME not in {t.name for t in threading.enumerate()}
    stream = bob_call.remote_participants[0].video_streams[0]
    await frames_arrive(stream, 20)  # the call never noticed
