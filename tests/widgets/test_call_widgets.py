"""The widgets driven through their models: a click changes the call, and the call changes the widgets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import ipywidgets as widgets
import numpy as np

from labkit.widgets import CallControls, Dialer, DoneButton, Feed, FramePump, IncomingCallPrompt

from ..helpers import Factory, Person, eventually


async def dial(people: Factory, video: bool = True) -> tuple[Person, Person, Dialer, IncomingCallPrompt]:
    alice, bob = await people("Alice"), await people("Bob")
    dialer, prompt = Dialer(alice.agent), IncomingCallPrompt(bob.agent)
    assert dialer.identity.value == alice.agent.user_id
    assert dialer.copy_button.value == alice.agent.user_id
    assert not prompt.visible
    dialer.callee.value = "bob"  # by the name the token service knows
    (dialer.video_button if video else dialer.audio_button).click()
    await eventually(lambda: prompt.visible, what="Bob's incoming-call prompt")
    return alice, bob, dialer, prompt


async def test_dialer_calls_by_name_and_the_prompt_accepts_with_video(people: Factory) -> None:
    _, _, dialer, prompt = await dial(people)
    assert prompt.caller == "Alice"
    assert "video call" in prompt.message.value
    prompt.accept_video.click()
    await eventually(lambda: prompt.last_call is not None, what="Bob's call")
    assert dialer.last_call is not None
    await dialer.last_call.wait_for_state("Connected")
    assert prompt.last_call is not None
    await prompt.last_call.wait_for_state("Connected")
    assert not prompt.visible
    stream = dialer.last_call.remote_participants[0].video_streams[0]
    await stream.wait_until_available()  # Bob accepted with video


async def test_reject_from_the_prompt(people: Factory) -> None:
    _, _, dialer, prompt = await dial(people, video=False)
    prompt.reject_button.click()
    assert dialer.last_call is not None
    await dialer.last_call.wait_for_state("Disconnected")
    assert dialer.last_call.call_end_reason is not None
    assert dialer.last_call.call_end_reason.code == 603
    await eventually(lambda: not prompt.visible, what="the prompt going away")


async def test_the_prompt_goes_away_when_the_caller_cancels(people: Factory) -> None:
    _, _, dialer, prompt = await dial(people, video=False)
    assert dialer.last_call is not None
    await dialer.last_call.hang_up()
    await eventually(lambda: "Missed call from Alice (487/0)" in prompt.message.value, what="the missed call")
    assert prompt.buttons.layout.display == "none"


async def test_dialer_errors_appear_in_the_error_bar(people: Factory) -> None:
    alice, _bob = await people("Alice"), await people("Bob")
    dialer = Dialer(alice.agent)
    dialer.callee.value = "nobody-like-this"
    dialer.audio_button.click()
    await eventually(lambda: dialer.errors.message != "", what="an error in the bar")
    assert "knows nobody called 'nobody-like-this'" in dialer.errors.message
    assert "Bob" in dialer.errors.hint
    assert dialer.errors.layout.display is None
    dialer.callee.value = "not-a-guid"
    dialer.join_button.click()
    await eventually(lambda: "GUID" in dialer.errors.message, what="the group id error")
    assert alice.agent.calls == ()


async def test_controls_drive_the_call_and_follow_it(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    controls = CallControls(call)
    assert controls.state == "Connected"
    assert controls.video_button.value is False  # not pressed: the video is on
    assert controls.video_button.description == "Stop video"
    await eventually(lambda: bob.speaker_level() > -30, what="Alice's tone at Bob's")
    # a click mutes the call, and Bob hears silence
    controls.mute_button.value = True
    await eventually(lambda: call.is_muted and bob_call.remote_participants[0].is_muted, what="muted")
    await eventually(lambda: bob.speaker_level() < -60, what="silence at Bob's")
    # code in another cell unmutes: the button follows
    await call.unmute()
    await eventually(lambda: controls.mute_button.value is False and controls.mute_button.description == "Mute")
    controls.hold_button.value = True
    await bob_call.wait_for_state("RemoteHold")
    await eventually(lambda: controls.state == "LocalHold" and controls.hold_button.description == "Resume")
    await call.resume()
    await eventually(lambda: controls.state == "Connected" and controls.hold_button.value is False)
    stream = bob_call.remote_participants[0].video_streams[0]
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 1, what="camera 1")
    controls.switch_button.click()
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 2, what="camera 2")
    controls.video_button.value = True  # pressed: video off, as a pressed Mute is sound off
    await eventually(lambda: not call.is_local_video_started and not stream.is_available, what="video off")
    await eventually(lambda: controls.video_button.description == "Start video", what="the button saying what it does")
    controls.video_button.value = False
    await eventually(lambda: call.is_local_video_started and stream.is_available, what="video on again")
    controls.hang_up_button.click()
    await call.wait_for_state("Disconnected")
    await eventually(lambda: controls.state == "Disconnected" and controls.mute_button.disabled)
    assert "0/0" in controls.status.value


async def test_the_record_button_records_and_both_sides_show_it(people: Factory, tmp_path: Path) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    controls = CallControls(call, recordings=tmp_path / "recordings")
    bobs = CallControls(bob_call)
    assert controls.record_button.description == "Record"
    controls.record_button.value = True
    await eventually(lambda: controls.record_button.description == "Stop recording", what="recording")
    assert "● recording (you)" in controls.status.value
    await eventually(lambda: "● recording (Alice)" in bobs.status.value, what="Bob's controls telling him")
    assert bobs.record_button.value is False  # Bob is not recording himself
    await asyncio.sleep(1.0)
    controls.record_button.value = False
    await eventually(lambda: controls.last_recording is not None, what="the file finished")
    assert controls.last_recording is not None
    assert controls.last_recording.parent == tmp_path / "recordings"
    assert controls.last_recording.name.startswith("call-")
    assert "saved" in controls.status.value
    with av.open(str(controls.last_recording)) as recording:
        assert float(recording.duration or 0) / av.time_base > 0.5
    await eventually(lambda: "recording" not in bobs.status.value, what="Bob's controls clearing")
    await call.hang_up()


async def test_the_frame_pump_pushes_the_latest_frame_as_jpeg(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    stream = bob_call.remote_participants[0].video_streams[0]
    image = widgets.Image(format="jpeg")
    pump = FramePump(fps=15)
    feed = pump.add(Feed(image, stream.latest_frame, 320, 240, placeholder=lambda w, h: np.zeros((h, w, 3), np.uint8)))
    await eventually(lambda: feed.frames_pushed >= 10, what="ten frames pushed")
    assert bytes(image.value[:2]) == b"\xff\xd8"  # a JPEG
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(image.value)).size == (320, 240)
    pump.stop()
    assert pump.busy_seconds > 0


async def test_the_done_button_hangs_up_once_and_says_so(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier])
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    runs: list[str] = []

    async def clean_up() -> None:
        runs.append("clean up")
        await call.hang_up()

    done = DoneButton(clean_up)
    assert not done.done
    done.button.click()  # what a click in the page does
    done.button.click()  # a second click while it runs does nothing more
    await bob_call.wait_for_state("Disconnected")
    await eventually(lambda: done.done, what="the button saying it is done")
    assert runs == ["clean up"]
    assert done.button.disabled
    assert done.status.value.startswith("Done")


async def test_a_failed_clean_up_shows_why_and_can_be_tried_again() -> None:
    attempts: list[int] = []

    async def clean_up() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the camera is still busy")

    done = DoneButton(clean_up)
    await done.press()
    assert done.errors.message == "RuntimeError: the camera is still busy"
    assert not done.done
    assert not done.button.disabled
    await done.press()
    assert done.done
    assert done.errors.message == ""
    assert len(attempts) == 2
