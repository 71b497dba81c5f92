"""Devices: the ones always present, file devices, clear errors, and in-call switching."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
import pytest

from labkit import CallClient, LabkitError, LocalVideoStream, VideoStreamRenderer
from labkit.calling.video_stream_renderer import scale_frame
from labkit.media import frame_code

from ..helpers import Factory, eventually, write_tone, write_video


async def test_the_devices_that_are_always_there(people: Factory) -> None:
    alice = await people("Alice")
    cameras = await alice.devices.get_cameras()
    assert [c.name for c in cameras[:2]] == ["Synthetic camera 1 (bars)", "Synthetic camera 2 (checker)"]
    microphones = [m.name for m in await alice.devices.get_microphones()]
    assert microphones[0].startswith("Tone microphone")
    assert "Silent microphone" in microphones
    assert [s.name for s in await alice.devices.get_speakers()] == ["Level-meter speaker", "Null speaker"]
    assert alice.devices.selected_microphone.name.startswith("Tone")
    access = await alice.devices.ask_device_permission(audio=True, video=True)
    assert (access.audio, access.video) == (True, True)


async def test_a_local_preview_is_mirrored_and_scaled(people: Factory) -> None:
    alice = await people("Alice")
    stream = await alice.camera(1)
    renderer = VideoStreamRenderer(stream)
    view = await renderer.create_view(scaling_mode="Fit", is_mirrored=True)
    await eventually(lambda: view.frame() is not None, what="a preview frame")
    assert stream.is_active
    plain = await renderer.create_view(scaling_mode="Stretch")
    mirrored, straight = view.frame(640, 480), plain.frame(640, 480)
    assert mirrored is not None
    assert straight is not None
    assert frame_code.decode(straight) is not None
    stamp = frame_code.decode(mirrored[:, ::-1])  # flipped back, the stamp reads
    assert stamp is not None
    # in the mirror it reads backwards: almost always no stamp at all, and never this one
    # (the 8-bit check passes a backwards word about once in 256 frames)
    assert frame_code.decode(mirrored) != stamp
    await renderer.dispose()
    assert not stream.is_active  # the camera closed with the last subscriber


def test_scaling_modes_crop_fit_and_stretch() -> None:
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    image[:, :100] = 255  # left half white
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    fit = scale_frame(frame, 100, 100, "Fit")
    assert fit.shape == (100, 100, 3)
    assert fit[10, 50].sum() == 0  # letterbox bar above the picture
    crop = scale_frame(frame, 100, 100, "Crop")
    assert crop[50, 5].sum() > 600  # the middle of the picture fills the box: white on the left
    assert crop[50, 95].sum() == 0
    stretch = scale_frame(frame, 100, 100, "Stretch")
    assert stretch[50, 5].sum() > 600
    assert stretch[50, 95].sum() == 0
    assert scale_frame(frame, 100, 100, "Stretch", is_mirrored=True)[50, 5].sum() == 0
    with pytest.raises(ValueError, match="Crop, Fit, Stretch"):
        scale_frame(frame, 10, 10, "Zoom")  # type: ignore[arg-type]


async def test_file_devices_are_added_and_used_in_a_call(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    added: list[str] = []
    alice.devices.on("video_devices_updated", lambda event: added.extend(d.name for d in event.added))
    camera = alice.devices.add_file_camera(write_video(tmp_path / "clip.webm"))
    microphone = alice.devices.add_file_microphone(write_tone(tmp_path / "tone.wav"))
    await eventually(lambda: added == [camera.name], what="video_devices_updated")
    assert "320x240" in camera.name
    await alice.devices.select_microphone(microphone)
    call = alice.agent.start_call([bob.agent.identifier], video_options=LocalVideoStream(camera))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    stream = bob_call.remote_participants[0].video_streams[0]
    await stream.next_frame()
    assert stream.size == (320, 240)
    await asyncio.sleep(1.5)  # longer than the 1 s clip: it loops
    image = stream.latest_image()
    assert image is not None
    assert image[120, 5, 0] > 150  # the clip's red
    await eventually(lambda: stream.frame_rate >= 20, timeout=5, what="20 frames a second")  # a busy moment dips
    await eventually(lambda: bob.speaker_level() > -30, what="the file's tone at Bob's speaker")


async def test_switching_microphone_during_a_call(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    await eventually(lambda: bob.speaker_level() > -30, what="Alice's tone")
    silent = next(m for m in await alice.devices.get_microphones() if m.name == "Silent microphone")
    await alice.devices.select_microphone(silent)
    await eventually(lambda: bob.speaker_level() < -60, what="silence after switching microphone")
    assert not call.is_muted


async def test_missing_or_unknown_devices_get_clear_errors(people: Factory, tmp_path: Path) -> None:
    alice = await people("Alice")
    with pytest.raises(FileNotFoundError, match="no such media file"):
        alice.devices.add_file_camera(tmp_path / "nope.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="PyAV cannot open"):
        alice.devices.add_file_camera(tmp_path / "junk.mp4")
    with pytest.raises(ValueError, match="no video stream"):
        alice.devices.add_file_camera(write_tone(tmp_path / "tone.wav"))
    other = CallClient("http://127.0.0.1:9")
    try:
        foreign = (await (await other.get_device_manager()).get_cameras())[0]
        with pytest.raises(LabkitError, match="No microphone"):
            await alice.devices.select_microphone(foreign)  # type: ignore[arg-type]
    finally:
        await other.dispose()
