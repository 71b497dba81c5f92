"""The web app (``GET /``) in real Chromium, calling labkit's Python agents: libwebrtc against aiortc."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from labkit import CallClient, CallState, LocalVideoStream, RelayConfiguration, request_token, start_service
from labkit.calling import Features
from labkit.media import frame_code
from labkit.service import EmbeddedService

from ..helpers import (
    Factory,
    eventually,
    frames_arrive,
    frames_during,
    free_port,
    grows_by,
    has_audio,
    has_frames,
    has_video,
    serve,
)
from ..turn_server import relayed, turn_server
from .chromium_lab import CHROMIUM_FLAGS, chromium_context, flags_with
from .web_pages import WebPage, page_video_calls

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for context in chromium_context(CHROMIUM_FLAGS):
        yield context


@pytest.fixture
async def three_camera_browser() -> AsyncIterator[Any]:
    """Chromium with three fake cameras (fake_device_0 to fake_device_2)."""
    async for context in chromium_context(flags_with("--use-fake-device-for-media-stream", "device-count=3")):
        yield context


async def test_page_calls_a_python_agent_and_media_flows_both_ways(
    service: EmbeddedService, people: Factory, browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    call = await page_video_calls(alice, bob)
    # Python side: Chromium's fake camera, decoded by aiortc, with pixels that move
    (remote,) = call.remote_participants
    await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
    stream = remote.video_streams[0]
    await stream.wait_until_available(10)
    await frames_arrive(stream, 10)
    first = stream.latest_image()
    await asyncio.sleep(0.5)
    second = stream.latest_image()
    assert first is not None
    assert second is not None
    assert first.std() > 10, "Chromium's fake frames should not be uniform"
    assert not np.array_equal(first, second), "the frames from the page did not change"
    await eventually(lambda: remote.audio_level_dbfs() > -60, 10, "audio from the page")
    # page side: aiortc's VP8 and Opus, decoded by Chromium
    before = await alice.peer_stats(bob.agent.user_id)
    await asyncio.sleep(1.0)
    after = await alice.peer_stats(bob.agent.user_id)
    assert after["video"]["framesDecoded"] - before["video"]["framesDecoded"] >= 10
    # the size Bob's encoder sends: 640x480, or a step of its resolution ladder when Chromium's
    # REMB has fallen below 250 kbit/s for a second (a loaded machine); the page decodes that size
    sent = call.media.link_of(remote).encoder_inputs["video"]
    decoded = (after["video"]["width"], after["video"]["height"])
    for _ in range(50):  # the ladder may step while we look: bounded, 5 s
        if decoded == sent.frame_size:
            break
        await asyncio.sleep(0.1)
        video = (await alice.peer_stats(bob.agent.user_id))["video"]
        decoded = (video["width"], video["height"])
    assert decoded == sent.frame_size, (decoded, sent.frame_size)
    assert sent.frame_size in ((640, 480), (480, 360), (320, 240), (160, 120)), sent.frame_size
    assert after["audio"]["packets"] - before["audio"]["packets"] >= 30
    stamps = await page_stamps(alice, bob.agent.user_id)
    assert {s.camera for s in stamps} == {1}, stamps  # Bob's camera 1, as painted in the page
    assert stamps[-1].frame_number > stamps[0].frame_number
    await alice.shot("1-page-calls-python")
    await alice.button("Hang up").click()
    await call.wait_for_state(CallState.DISCONNECTED, timeout=10)
    assert call.call_end_reason is not None
    assert call.call_end_reason.code == 0
    await alice.page.get_by_text("Call ended").wait_for(timeout=10_000)


async def test_python_agent_calls_the_page_which_rejects_then_accepts(
    service: EmbeddedService, people: Factory, browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    first = bob.agent.start_call(alice.user_id, video_options=await bob.camera())
    await alice.page.get_by_text("Bob is calling you (video)").wait_for(timeout=10_000)
    await first.wait_for_state(CallState.RINGING, timeout=10)  # the page said "ringing"
    await alice.button("Reject").click()
    await first.wait_for_state(CallState.DISCONNECTED, timeout=10)
    assert first.call_end_reason is not None
    assert (first.call_end_reason.code, first.call_end_reason.sub_code) == (603, 0)

    second = bob.agent.start_call(alice.user_id, video_options=await bob.camera())
    await alice.page.get_by_text("Bob is calling you (video)").wait_for(timeout=10_000)
    await alice.button("Accept with video").click()
    await second.wait_for_state(CallState.CONNECTED, timeout=15)
    await alice.wait_state("Connected")
    (remote,) = second.remote_participants
    await eventually(lambda: bool(remote.video_streams) and remote.video_streams[0].frames_received > 10, 10, "video")
    await alice.page.locator(".tile.remote", has_text="Bob").wait_for(timeout=10_000)
    await eventually_async(lambda: decoded_frames(alice, bob.agent.user_id), 10, "Bob's video decoded in the page")
    await alice.shot("2-python-calls-page")
    await second.hang_up()
    await alice.wait_state("Disconnected")
    await alice.page.get_by_text("Call ended: Bob hung up (0)").wait_for(timeout=10_000)


async def page_stamps(page: WebPage, user_id: str) -> list[frame_code.FrameStamp]:
    """Frame stamps read from screenshots of the page's <video> for ``user_id``."""
    video = page.page.locator(f'.tile.remote[data-user-id="{user_id}"] video')
    stamps = []
    for _ in range(10):
        image = np.asarray(Image.open(BytesIO(await video.screenshot())).convert("RGB"))
        stamp = frame_code.decode(image)
        if stamp is not None:
            stamps.append(stamp)
        await asyncio.sleep(0.1)
    return stamps


async def decoded_frames(page: WebPage, user_id: str) -> bool:
    stats = await page.peer_stats(user_id)
    return bool(stats["video"] and stats["video"]["framesDecoded"] > 10)


async def eventually_async(check: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.1)


async def rate(read: Any, seconds: float = 1.0) -> float:
    """How much ``read()`` grows per second."""
    before = await read()
    await asyncio.sleep(seconds)
    return float(await read() - before) / seconds


async def test_controls_from_the_page_reach_python_and_back(
    service: EmbeddedService, people: Factory, browser: Any, tmp_path: Path
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    await alice.dial("bob", video=True)
    call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera())
    await alice.wait_state("Connected")
    (remote,) = call.remote_participants
    await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
    video = remote.video_streams[0]
    await video.wait_until_available(10)
    await eventually(lambda: remote.audio_level_dbfs() > -60, 10, "audio from the page")

    # page -> Python: mute (the flag, and silence), video off (no frames), hold (nothing either way)
    await alice.button("Mute").click()
    await eventually(lambda: remote.is_muted, 5, "Bob seeing Alice muted")
    await eventually(lambda: remote.audio_level_dbfs() < -60, 5, "silence from the muted page")
    await alice.button("Unmute").click()
    await eventually(lambda: not remote.is_muted, 5, "Bob seeing Alice unmuted")

    await alice.button("Stop video").click()
    await eventually(lambda: not video.is_available, 5, "Alice's video becoming unavailable")
    await asyncio.sleep(0.3)
    assert await frames_during(video, 1.0) == 0
    await alice.button("Start video").click()
    await eventually(lambda: video.is_available, 5, "Alice's video coming back")
    await frames_arrive(video, 10)

    bob_id = bob.agent.user_id

    async def page_frames() -> float:
        return float((await alice.peer_stats(bob_id))["video"]["framesDecoded"])

    await alice.button("Hold").click()
    await alice.wait_state("LocalHold")
    await call.wait_for_state(CallState.REMOTE_HOLD, timeout=10)
    await asyncio.sleep(0.5)
    assert await frames_during(video, 1.0) == 0
    assert await rate(page_frames) == 0
    await alice.button("Resume").click()
    await call.wait_for_state(CallState.CONNECTED, timeout=10)
    await alice.wait_state("Connected")
    await frames_arrive(video, 10)
    await grows_by(page_frames, 10, what="the page decoding Bob's video after the resume")

    # Python -> page: mute, video off, hold, each seen in the page's participant and its media
    async def page_audio_energy() -> float:
        return float((await alice.peer_stats(bob_id))["audio"]["energy"])

    loud = await rate(page_audio_energy)  # Bob's -16 dBFS tone: about 0.0125 per second
    assert loud > 1e-3, loud
    await call.mute()
    await eventually_async(lambda: participant_flag(alice, bob_id, "isMuted", True), 5, "the page seeing Bob muted")
    await alice.page.locator(".tile.remote", has_text="muted").wait_for(timeout=5_000)
    await asyncio.sleep(0.8)
    quiet = await rate(page_audio_energy)
    assert quiet < loud / 50, (quiet, loud)
    await call.unmute()
    await eventually_async(lambda: participant_flag(alice, bob_id, "isMuted", False), 5, "the page seeing Bob unmuted")
    await eventually_async(lambda: positive(rate(page_audio_energy)), 5, "Bob's tone in the page")

    await call.stop_video()
    await eventually_async(lambda: participant_flag(alice, bob_id, "isVideoOn", False), 5, "Bob's video off")
    await asyncio.sleep(0.3)
    assert await rate(page_frames) == 0
    await call.start_video(await bob.camera())
    await eventually_async(lambda: positive(rate(page_frames)), 5, "Bob's video back in the page")

    await call.hold()
    await alice.wait_state("RemoteHold")
    await asyncio.sleep(0.3)
    assert await rate(page_frames) == 0
    assert await frames_during(video, 1.0) == 0
    await call.resume()
    await alice.wait_state("Connected")
    await eventually_async(lambda: positive(rate(page_frames)), 5, "video in the page after resume")

    # Python records the call: the page marks Bob as recording, and the file holds the page's camera
    recording = call.feature(Features.RECORDING)
    path = await recording.start(tmp_path / "with-a-page.webm")
    await alice.page.locator(".tile.remote", has_text="recording").wait_for(timeout=5_000)
    await asyncio.sleep(2.0)
    await recording.stop()
    await eventually_async(lambda: participant_flag(alice, bob_id, "isRecording", False), 5, "the mark going")
    with av.open(str(path)) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(pictures) >= 10, len(pictures)  # two seconds of the call (about 30 when not loaded)
    page_cell = pictures[-1][120:360, 0:320]  # the page's 640x480 camera, fitted into the left cell
    assert page_cell.std() > 10  # Chromium's fake camera, not an empty cell
    assert frame_code.decode(np.asarray(page_cell, dtype=np.uint8)) is None  # and not a labkit camera
    await alice.shot("3-controls")

    await alice.button("Hang up").click()
    await call.wait_for_state(CallState.DISCONNECTED, timeout=10)
    assert call.call_end_reason is not None
    assert call.call_end_reason.code == 0


async def participant_flag(page: WebPage, user_id: str, flag: str, value: bool) -> bool:
    summary = await page.call()
    return summary is not None and summary["participants"][user_id][flag] is value


async def positive(value: Any) -> bool:
    return bool(await value > 0)


async def test_page_calls_page(service: EmbeddedService, browser: Any) -> None:
    alice = await WebPage.open(browser, service.url, "alice")
    carol = await WebPage.open(browser, service.url, "carol")
    await alice.dial("carol", video=True)
    await carol.page.get_by_text("alice is calling you (video)").wait_for(timeout=10_000)
    await carol.button("Accept with video").click()
    await alice.wait_state("Connected")
    await carol.wait_state("Connected")
    for page, other in ((alice, carol), (carol, alice)):
        await eventually_async(lambda p=page, o=other: decoded_frames(p, o.user_id), 10, f"video in {page.name}'s page")
    await carol.button("Hold").click()
    await alice.wait_state("RemoteHold")
    await carol.button("Resume").click()
    await alice.wait_state("Connected")
    await carol.button("Hang up").click()
    await alice.wait_state("Disconnected")
    await alice.page.get_by_text("Call ended: carol hung up (0)").wait_for(timeout=10_000)


async def test_group_call_with_two_pages_and_a_python_agent(
    service: EmbeddedService, people: Factory, browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    carol = await WebPage.open(browser, service.url, "carol")
    group_id = "6f1e0c1a-3b7d-4a59-9e3b-2a8f5d7c9b10"
    call = bob.agent.join(group_id, video_options=await bob.camera())
    await call.wait_for_state(CallState.CONNECTED, timeout=10)
    await alice.dial(group_id, video=True)
    await alice.wait_state("Connected")
    await carol.dial(group_id, video=True)
    await carol.wait_state("Connected")
    participants = await call.wait_for_remote_participants(2, timeout=10)
    assert sorted(p.display_name for p in participants) == ["alice", "carol"]
    for participant in participants:  # Python decodes both pages' cameras
        await eventually(partial(has_video, participant), 10, "a video stream")
        await eventually(partial(has_frames, participant), 10, "frames from a page")
        await eventually(partial(has_audio, participant), 10, "audio from a page")
    for page, others in ((alice, (carol, bob)), (carol, (alice, bob))):  # each page decodes both others
        for other in others:
            user_id = other.user_id if isinstance(other, WebPage) else other.agent.user_id
            await eventually_async(lambda p=page, u=user_id: decoded_frames(p, u), 10, f"video in {page.name}'s page")
    assert {s.camera for s in await page_stamps(carol, bob.agent.user_id)} == {1}
    await alice.shot("4-group")
    await alice.button("Hang up").click()
    await eventually(lambda: len(call.remote_participants) == 1, 10, "Bob seeing Alice leave")
    summary = await carol.wait_state("Connected")
    assert list(summary["participants"]) == [bob.agent.user_id]
    await call.hang_up()
    await eventually_async(lambda: participants_are(carol, []), 10, "Carol seeing Bob leave")


async def participants_are(page: WebPage, user_ids: list[str]) -> bool:
    summary = await page.call()
    return summary is not None and list(summary["participants"]) == user_ids


async def test_a_page_that_reloads_mid_call_leaves_it(service: EmbeddedService, people: Factory, browser: Any) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    await alice.dial("bob", video=False)
    call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state(CallState.CONNECTED, timeout=15)
    await alice.page.reload()
    await call.wait_for_state(CallState.DISCONNECTED, timeout=10)
    reason = call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (410, 3100), reason
    await alice.page.locator("#dialer").wait_for(state="visible", timeout=15_000)  # signed in again (?name=)
    await bob.agent.start_call(alice.user_id).wait_for_state(CallState.RINGING, timeout=10)


async def test_garbage_from_a_page_gets_errors_and_harms_no_call(
    service: EmbeddedService, people: Factory, browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    mallory = await WebPage.open(browser, service.url, "mallory")
    await alice.dial("bob", video=True)
    call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera())
    await alice.wait_state("Connected")
    replies = await mallory.page.evaluate(
        """async () => {
          const socket = window.labkit.signaling._socket;
          const errors = [];
          socket.addEventListener('message', (e) => {
            const m = JSON.parse(e.data);
            if (m.type === 'error') errors.push(m.code);
          });
          const unknownCall = '{"type":"hang-up","callId":"00000000-0000-4000-8000-000000000000"}';
          for (const frame of ['not json', '[1,2]', '{"type":"fly"}', '{"type":"accept"}', unknownCall,
                               'x'.repeat(70000)]) socket.send(frame);
          socket.send(new Uint8Array([1, 2, 3]));
          await new Promise((resolve) => setTimeout(resolve, 500));
          return { errors, open: socket.readyState === WebSocket.OPEN };
        }"""
    )
    assert replies["errors"] == [
        "malformed-message",
        "malformed-message",
        "unknown-message-type",
        "invalid-message",
        "call-not-found",
        "message-too-large",
        "malformed-message",
    ]
    assert replies["open"]
    (remote,) = call.remote_participants  # Alice's call is unharmed
    assert call.state is CallState.CONNECTED
    await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
    await frames_arrive(remote.video_streams[0], 10)
    assert await rate(lambda: page_frames(alice, bob.agent.user_id)) > 0


async def page_frames(page: WebPage, user_id: str) -> float:
    return float((await page.peer_stats(user_id))["video"]["framesDecoded"])


async def test_switch_camera_and_pickers_in_the_page(
    service: EmbeddedService, people: Factory, three_camera_browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(three_camera_browser, service.url, "alice")
    await alice.dial("bob", video=True)
    call = await (await bob.agent.wait_for_incoming_call()).accept()
    await alice.wait_state("Connected")
    (remote,) = call.remote_participants
    await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
    video = remote.video_streams[0]
    await video.wait_until_available(10)
    camera_label = "() => window.labkit.devices.cameraTrack.label"
    picked = "() => document.getElementById('camera-select').selectedOptions[0].text"
    assert await alice.page.evaluate(camera_label) == "fake_device_0"
    # the picker moves the call to another camera (fake_device_2; Chromium's fake_device_1 is a Y16 depth
    # camera, which its video encoder does not take)
    await alice.page.locator("#camera-select").select_option(label="fake_device_2")
    await eventually_async(lambda: has_label(alice, camera_label, "fake_device_2"), 5, "the page sending camera 2")
    await asyncio.sleep(0.5)
    await frames_arrive(video, 10)  # Bob keeps receiving, from the other camera
    # Switch camera (ACS switchSource to the next camera) wraps round to fake_device_0, and the picker follows
    await alice.button("Switch camera").click()
    await eventually_async(lambda: has_label(alice, camera_label, "fake_device_0"), 5, "the page back on camera 0")
    assert await alice.page.evaluate(picked) == "fake_device_0"
    await asyncio.sleep(0.5)
    await frames_arrive(video, 10)
    await alice.button("Hang up").click()
    await call.wait_for_state(CallState.DISCONNECTED, timeout=10)


async def has_label(page: WebPage, script: str, label: str) -> bool:
    return bool(await page.page.evaluate(script) == label)


async def test_a_page_calls_python_through_a_real_turn_server(browser: Any, tmp_path: Path) -> None:
    """The service hands the page and the agent coturn's address with signed credentials, and
    the relay policy: Chromium and aiortc both reach each other only through the TURN server."""
    secret = secrets.token_hex(16)
    with turn_server(secret, tmp_path) as url:
        service = start_service(relay=RelayConfiguration((url,), secret, transport_policy="relay"))
        client = CallClient(service.url)
        try:
            bob = await client.create_call_agent((await request_token(service.url, "bob"))[0], "Bob")
            cameras = await (await client.get_device_manager()).get_cameras()
            alice = await WebPage.open(browser, service.url, "alice")
            await alice.dial("bob", video=True)
            incoming = await bob.wait_for_incoming_call(timeout=10)
            call = await incoming.accept(video_options=LocalVideoStream(cameras[0]))
            await call.wait_for_state(CallState.CONNECTED, timeout=15)
            await alice.wait_state("Connected")
            await eventually(lambda: relayed(call) == [("relay", True)], 10, "aiortc's relayed pair")
            await eventually_async(
                lambda: route_is(alice, bob.user_id, "relay"), 10, "the page's pair going through coturn"
            )
            (remote,) = call.remote_participants
            await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
            await remote.video_streams[0].wait_until_available(10)
            await frames_arrive(remote.video_streams[0], 10)
            before = await alice.peer_stats(bob.user_id)
            await asyncio.sleep(1.0)
            after = await alice.peer_stats(bob.user_id)
            assert after["video"]["framesDecoded"] - before["video"]["framesDecoded"] >= 10
            await alice.button("Hang up").click()
            await call.wait_for_state(CallState.DISCONNECTED, timeout=10)
        finally:
            await client.dispose()
            service.stop()


async def route_is(page: WebPage, user_id: str, kind: str) -> bool:
    return bool((await page.peer_stats(user_id))["route"] == kind)


async def test_the_page_refreshes_its_token_before_it_expires(service: EmbeddedService, browser: Any) -> None:
    alice = await WebPage.open(browser, service.url, "alice")
    refreshed = await alice.page.evaluate(
        """async () => {
          const { requestToken } = await import('./app/signaling.js');
          const signaling = window.labkit.signaling;
          const seen = new Promise((resolve) =>
            signaling.addEventListener('token-refreshed', (e) => resolve(e.detail), { once: true }));
          // a token that expires in 3 to 4 s (exp is in whole seconds): refreshed 2 s before,
          // so 1 to 2 s from now, with a real token from /api/token
          const payload = btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 4 }));
          signaling.keepTokenFresh(`x.${payload}.y`, async () => (await requestToken('alice')).token, 2000);
          const started = Date.now();
          const reply = await seen;
          return { afterMs: Date.now() - started, expiresOn: reply.expiresOn };
        }"""
    )
    assert 900 < refreshed["afterMs"] < 4000, refreshed  # 1 to 2 s, and not at once
    expires = datetime.fromisoformat(refreshed["expiresOn"])
    assert expires - datetime.now(UTC) > timedelta(hours=23)  # the service holds the fresh 24 h token


async def test_an_access_code_and_a_held_name_in_the_web_app(browser: Any) -> None:
    svc = start_service(access_code="blue-42")
    try:
        alice = await browser.new_page()
        await alice.goto(f"{svc.url}/")
        field = alice.locator("#access-code")
        await field.wait_for(state="visible", timeout=10_000)  # the page learns that a code is needed
        await alice.locator("#name").fill("alice")
        await alice.get_by_role("button", name="Sign in").click()
        await alice.get_by_text("This service needs its access code.").wait_for(timeout=10_000)
        await field.fill("blue-42")
        await alice.get_by_role("button", name="Sign in").click()
        await alice.locator("#dialer").wait_for(state="visible", timeout=10_000)

        bob = await WebPage.open(browser, svc.url, "bob&code=blue-42")  # a shared link carries the code
        assert bob.user_id
        async for stranger_context in chromium_context(CHROMIUM_FLAGS):  # another browser: no secret of alice's
            stranger = await stranger_context.new_page()
            await stranger.goto(f"{svc.url}/?code=blue-42&name=alice")
            await stranger.get_by_text("The name 'alice' is in use by someone else.").wait_for(timeout=10_000)
            assert await stranger.locator("#dialer").is_hidden()
            assert await alice.evaluate("window.labkit.signaling.isOpen") is True  # alice was not signed out
        await alice.reload()  # her own browser keeps the name's secret: a reload gets it back
        await alice.locator("#name").fill("alice")
        await alice.get_by_role("button", name="Sign in").click()
        await alice.locator("#dialer").wait_for(state="visible", timeout=10_000)
    finally:
        svc.stop()


async def test_a_page_and_a_python_agent_keep_their_call_through_a_service_restart(
    browser: Any, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve(port, tmp_path)
    try:
        async with CallClient(url) as client:
            bob = await client.create_call_agent((await request_token(url, "bob"))[0], "Bob")
            alice = await WebPage.open(browser, url, "alice")
            await alice.dial("bob", video=True)
            cameras = await (await client.get_device_manager()).get_cameras()
            call = await (await bob.wait_for_incoming_call(timeout=10)).accept(
                video_options=LocalVideoStream(cameras[0])
            )
            await alice.wait_state("Connected")
            (remote,) = call.remote_participants
            await eventually(lambda: bool(remote.video_streams), 10, "Alice's video stream")
            stream = remote.video_streams[0]
            await stream.wait_until_available(10)
            # media flows both ways before the outage (on a loaded machine Bob's first frames take a while)
            await eventually_async(partial(decoded_frames, alice, bob.user_id), 10, "Bob's video decoded by the page")

            service.kill()  # the service dies mid-call
            service.wait(10)
            await alice.page.get_by_text("reconnecting").wait_for(timeout=10_000)
            page_before = await alice.peer_stats(bob.user_id)
            await frames_arrive(stream, 10)  # the page's camera still reaches Python
            page_after = await alice.peer_stats(bob.user_id)
            assert page_after["video"]["framesDecoded"] - page_before["video"]["framesDecoded"] >= 10
            service = serve(port, tmp_path)  # back, with the same signing key
            await eventually_async(
                lambda: alice.page.evaluate("window.labkit.signaling.isOpen"), 15, "the page reconnected"
            )
            await eventually(lambda: bob.connection_state.value == "Connected", 15.0, "Bob reconnected")
            assert (await alice.call() or {}).get("state") == "Connected"
            assert call.state is CallState.CONNECTED
            await alice.button("Mute").click()  # signaling works again, both ways
            await eventually(lambda: remote.is_muted, 10, "Bob sees the page muted")
            await call.hang_up()
            await alice.wait_state("Disconnected")
    finally:
        service.terminate()
        service.wait(10)
