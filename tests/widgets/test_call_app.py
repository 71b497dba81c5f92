"""Device picker, video panel, stats panel and the composed call app, driven through their models."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from io import BytesIO

import numpy as np
from PIL import Image

import labkit
from labkit.media import frame_code
from labkit.service import EmbeddedService
from labkit.widgets import CallApp, DevicePicker, StatsPanel, VideoPanel, describe_end
from labkit.widgets.stats_panel import badge

from ..helpers import Factory, eventually


def picture(image_widget: object) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(bytes(image_widget.value))).convert("RGB"))  # type: ignore[attr-defined]


def test_the_calling_core_never_imports_the_widgets() -> None:
    code = (
        "import sys, labkit, labkit.calling, labkit.stats; "
        "print(any(m.startswith(('labkit.widgets', 'ipywidgets')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


async def test_device_picker_previews_meters_and_switches(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    picker = await DevicePicker(alice.devices).start()
    names = [name for name, _ in picker.camera.options]
    assert names[:2] == ["Synthetic camera 1 (bars)", "Synthetic camera 2 (checker)"]
    assert picker.stream is not None
    assert picker.camera.value == picker.stream.source.id, "the dropdown names the camera it previews"
    await eventually(lambda: bool(picker.preview.value), what="a preview frame")
    mirrored = picture(picker.preview)
    # mirrored: flipped back, the stamp reads as camera 1's. (Read as it is, the reversed bits pass
    # the stamp's 8-bit checksum once in 256 frames, so "None" is not what to check.)
    unmirrored = frame_code.decode(mirrored[:, ::-1])
    assert unmirrored is not None
    assert unmirrored.camera == 1
    assert frame_code.decode(mirrored) != unmirrored
    await eventually(lambda: picker.level.value > -30, what="the tone on the meter")
    # during a call, picking the other camera switches what Bob receives
    call = alice.agent.start_call([bob.agent.identifier], video_options=picker.stream)
    picker.call = call
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    stream = bob_call.remote_participants[0].video_streams[0]
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 1, what="camera 1")
    picker.camera.value = picker.camera.options[1][1]
    await eventually(lambda: (s := stream.latest_stamp()) is not None and s.camera == 2, what="camera 2")
    silent = next(value for name, value in picker.microphone.options if name == "Silent microphone")
    picker.microphone.value = silent
    await eventually(lambda: picker.level.value <= -59, what="the meter on the silent microphone")
    await eventually(lambda: bob.speaker_level() < -60, what="Bob hearing the silent microphone")
    # a device added later appears in the list
    alice.devices.remove_device((await alice.devices.get_cameras())[1])
    await eventually(lambda: len(picker.camera.options) == 1, what="the list following the devices")
    await picker.dispose()


async def test_the_picker_of_a_call_shows_and_previews_the_call_s_camera(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(2))
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    picker = await DevicePicker(alice.devices, call).start()
    assert picker.camera.value == call.local_video_streams[0].source.id
    assert dict((v, n) for n, v in picker.camera.options)[picker.camera.value] == "Synthetic camera 2 (checker)"
    await eventually(lambda: bool(picker.preview.value), what="a preview frame")
    stamp = frame_code.decode(picture(picker.preview)[:, ::-1])
    assert stamp is not None
    assert stamp.camera == 2
    await picker.dispose()


async def test_a_call_without_a_camera_shows_initials_in_the_preview_tile(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()  # audio only
    await call.wait_for_state("Connected")
    panel = await VideoPanel(bob_call, fps=15).start()
    await eventually(lambda: bool(panel.preview_tile.image.value), what="the preview tile's picture")
    shown = picture(panel.preview_tile.image)
    assert shown.shape == (240, 320, 3)
    assert abs(shown[5, 5].astype(int) - (60, 64, 72)).max() < 8, "the grey of the placeholder"
    assert shown.max() > 200, "the initials on it"
    await panel.dispose()


async def test_video_panel_tiles_follow_the_participants(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera(2))
    await call.wait_for_state("Connected")
    panel = await VideoPanel(call, fps=15).start()
    await eventually(lambda: "Bob" in [t.name for t in panel.tiles.values()], what="Bob's tile")
    tile = next(iter(panel.tiles.values()))
    await eventually(lambda: bool(tile.image.value), what="the tile's first picture")
    await eventually(lambda: frame_code.decode(picture(tile.image)) is not None, what="Bob's video in his tile")
    first = picture(tile.image)
    stamp = frame_code.decode(first)
    assert stamp is not None
    assert stamp.camera == 2
    await eventually(lambda: frame_code.decode(picture(tile.image)) != stamp, what="the tile changing")
    await bob_call.mute()
    await eventually(lambda: "muted" in tile.label.value, what="the muted icon")
    await bob_call.stop_video()
    await eventually(lambda: frame_code.decode(picture(tile.image)) is None, what="the initials placeholder")
    assert picture(tile.image).std() < 40  # a plain placeholder, not a picture
    await bob_call.hang_up()
    await eventually(lambda: not panel.tiles, what="the tile going away")
    await panel.dispose()


async def test_stats_panel_draws_plots_and_badges(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    panel = StatsPanel(call, sample_interval=0.3, redraw_every=0.5)
    await eventually(lambda: bool(panel.plot.value), what="the first plot")
    assert bytes(panel.plot.value[:4]) == b"\x89PNG"
    # One badge per diagnostic, showing its latest value.
    for name, value in panel.diagnostics.get_latest().items():
        assert badge(name, value) in panel.badges.value
    # Network quality is instantaneous: a loaded machine can make the first seconds Poor
    # (a late RTCP report is a long round trip), so wait for it to settle on loopback.
    await eventually(
        lambda: "network receive quality: Good" in panel.badges.value,
        timeout=10,
        what=f"a Good receive quality badge (at first: {panel.diagnostics.get_latest()})",
    )
    await call.mute()
    await eventually(lambda: "speaking while microphone is muted: yes" in panel.badges.value, what="the badge")
    await panel.dispose()


def test_end_reasons_in_words() -> None:
    from labkit.protocol import end_reasons

    assert describe_end(end_reasons.DECLINED.with_message("Bob declined the call.")) == "Bob declined the call (603)"
    assert describe_end(end_reasons.ALL_DECLINED) == "Every callee declined the call (0/5003)"
    assert describe_end(None) == "The call ended."


async def test_two_call_apps_call_each_other(service: EmbeddedService) -> None:
    alice = await labkit.app("Alice", endpoint=service.url)
    bob = await labkit.app("Bob", endpoint=service.url)
    try:
        assert (alice.page, bob.page) == ("setup", "setup")
        alice.dialer.callee.value = "Bob"
        alice.dialer.video_button.click()
        await eventually(lambda: bob.prompt.visible, what="Bob's prompt")
        bob.prompt.accept_video.click()
        await eventually(lambda: alice.page == "call" and bob.page == "call", what="both on the call page")
        assert alice.call is not None
        await alice.call.wait_for_state("Connected")
        gallery = alice.video
        assert gallery is not None
        await eventually(lambda: bool(gallery.tiles), what="Alice's gallery")
        tile = next(iter(gallery.tiles.values()))
        await eventually(
            lambda: bool(tile.image.value) and frame_code.decode(picture(tile.image)) is not None,
            what="Bob's video in Alice's app",
        )
        stamp = frame_code.decode(picture(tile.image))
        assert stamp is not None
        assert stamp.camera == 1  # Bob's previewed camera went into the call
        assert bob.controls is not None
        bob.controls.hang_up_button.click()
        await eventually(lambda: alice.page == "ended" and bob.page == "ended", what="the end pages")
        assert "Bob hung up (0)" in alice.end_notice.value
        # nothing runs for an ended call: the previews, meters and plots have stopped
        await eventually(lambda: alice.picker.is_paused and bob.picker.is_paused, what="the pickers paused")
        assert not alice.picker.pump.is_running
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(2.0)
        share = (time.process_time() - cpu) / (time.monotonic() - wall)
        assert share < 0.12, f"two ended apps (and the service) still use {share:.0%} of a core"
        alice.new_call_button.click()
        assert alice.page == "setup"
        await eventually(lambda: not alice.picker.is_paused, what="the preview back on the setup page")
        before = alice.picker.pump.feeds[0].frames_pushed
        await eventually(lambda: alice.picker.pump.feeds[0].frames_pushed > before + 3, what="new preview frames")
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_declined_call_notice(service: EmbeddedService) -> None:
    alice = await labkit.app("Alice", endpoint=service.url)
    bob = await labkit.app("Bob", endpoint=service.url)
    try:
        alice.dialer.callee.value = "bob"
        alice.dialer.audio_button.click()
        await eventually(lambda: bob.prompt.visible, what="Bob's prompt")
        bob.prompt.reject_button.click()
        await eventually(lambda: alice.page == "ended", what="Alice's end page")
        assert "Bob declined the call (603)" in alice.end_notice.value
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_an_unreachable_service_shows_in_the_error_bar() -> None:
    failed = await labkit.app("Alice", endpoint="http://127.0.0.1:9")
    assert isinstance(failed, CallApp)
    assert failed.errors.message
    assert "labkit serve" in failed.errors.hint
