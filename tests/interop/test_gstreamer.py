"""labkit against a third-party client on GStreamer 1.22's webrtcbin that speaks docs/protocol.md.

Media is judged at both receiving ends: frames webrtcbin decoded and the level of what it
plays, and frames and the speaker level at the Python agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from labkit import Call, CallState
from labkit.service import EmbeddedService

from ..helpers import Factory, Person, eventually, frames_arrive, frames_during, grows_by
from .gst_peer import GstPeer, require_gstreamer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _gstreamer() -> None:
    require_gstreamer()


@pytest.fixture
async def gst(service: EmbeddedService) -> AsyncIterator[list[GstPeer]]:
    """Started GStreamer clients, closed after the test."""
    started: list[GstPeer] = []
    yield started
    for peer in started:
        await peer.close()


async def connect(
    people: Factory, service: EmbeddedService, gst: list[GstPeer], labkit_calls: bool, *options: str
) -> tuple[Person, GstPeer, Call]:
    alice = await people("Alice")
    peer = await GstPeer.start(service.url, "gst", *options)
    gst.append(peer)
    camera = await alice.camera(1)
    if labkit_calls:  # webrtcbin accepts, so it offers (the mesh rule: whoever arrives offers)
        call = alice.agent.start_call([peer.user_id], video_options=camera)
        await peer.wait(lambda s: s["state"] == "Ringing", "ringing")
        await peer.command("accept")
    else:  # labkit accepts, so labkit offers
        await peer.command("call", to=alice.agent.identifier.raw_id)
        call = await (await alice.agent.wait_for_incoming_call()).accept(video_options=camera)
    await call.wait_for_state("Connected", timeout=10)
    return alice, peer, call


async def media_both_ways(alice: Person, peer: GstPeer, call: Call, what: str) -> None:
    stream = call.remote_participants[0].video_streams[0]
    await stream.next_frame(timeout=5)
    await frames_arrive(stream, 8, what=f"{what}: webrtcbin's 15 fps video at labkit")
    await eventually(lambda: alice.speaker_level() > -30, what=f"{what}: webrtcbin's tone at labkit")
    await grows_by(peer.video_frames, 10, what=f"{what}: labkit's video decoded by webrtcbin")
    await peer.wait(lambda s: s["audioLevel"] > -40, f"{what}: labkit's tone at webrtcbin")


@pytest.mark.parametrize("labkit_calls", [True, False], ids=["labkit-calls", "webrtcbin-calls"])
async def test_a_call_with_webrtcbin_both_ways(
    people: Factory, service: EmbeddedService, gst: list[GstPeer], labkit_calls: bool
) -> None:
    alice, peer, call = await connect(people, service, gst, labkit_calls)
    await media_both_ways(alice, peer, call, "connected")
    seen = call.remote_participants[0]

    await call.mute()
    await peer.wait(lambda s: s["audioLevel"] < -60, "silence from muted labkit")
    await call.unmute()
    await peer.command("mute")
    await eventually(lambda: seen.is_muted and alice.speaker_level() < -60, what="webrtcbin muted, seen and heard")
    await peer.command("unmute")
    await eventually(lambda: alice.speaker_level() > -30, what="webrtcbin unmuted")

    await call.stop_video(call.local_video_streams[0])
    assert await peer.frames_during(1.0) <= 1, "labkit's video off: webrtcbin decodes nothing"
    await call.start_video(await alice.camera(1))
    await peer.wait(lambda s: s["videoFrames"] > 0, "video")
    await grows_by(peer.video_frames, 10, what="labkit's video back on")
    await peer.command("video", on=False)
    await eventually(lambda: not seen.video_streams[0].is_available, what="labkit sees webrtcbin's video off")
    await asyncio.sleep(0.3)
    assert await frames_during(seen.video_streams[0], 1.0) == 0, "webrtcbin's video off: labkit gets no frames"
    await peer.command("video", on=True)
    await eventually(lambda: seen.video_streams[0].is_available, what="labkit sees webrtcbin's video on")
    await frames_arrive(seen.video_streams[0], 8, what="webrtcbin's video back on")

    await call.local_video_streams[0].switch_source((await alice.devices.get_cameras())[1])
    await grows_by(peer.video_frames, 10, what="frames go on after labkit switched camera")

    for cycle in (1, 2):
        await call.hold()
        assert call.state is CallState.LOCAL_HOLD
        await asyncio.sleep(0.5)
        assert await peer.frames_during(1.0) == 0, "labkit holds: it sends nothing"
        assert await frames_during(call.remote_participants[0].video_streams[0], 1.0) == 0, "and gets nothing"
        await call.resume()
        await media_both_ways(alice, peer, call, f"after labkit's resume {cycle}")
    for cycle in (1, 2):
        await peer.command("hold")
        await eventually(lambda: call.state is CallState.REMOTE_HOLD, what="labkit sees the remote hold")
        await asyncio.sleep(0.5)
        assert await frames_during(call.remote_participants[0].video_streams[0], 1.0) == 0, "webrtcbin holds"
        await peer.command("resume")
        await eventually(lambda: call.state is CallState.CONNECTED, what="labkit sees the resume")
        await media_both_ways(alice, peer, call, f"after webrtcbin's resume {cycle}")

    await call.hang_up()
    ended = await peer.wait(lambda s: s["state"] == "Disconnected", "the call ended")
    assert ended["endReason"]["code"] == 0
    assert "hung up" in ended["endReason"]["message"]


@pytest.mark.parametrize("setup", ["actpass", "active", "passive"])
async def test_each_dtls_role_webrtcbin_offers_connects(
    people: Factory, service: EmbeddedService, gst: list[GstPeer], setup: str
) -> None:
    """webrtcbin's certificate is RSA: labkit as DTLS client (actpass, passive) must accept it."""
    alice, peer, call = await connect(people, service, gst, True, "--setup", setup)
    await media_both_ways(alice, peer, call, f"a=setup:{setup}")


async def test_a_failed_dtls_handshake_ends_with_its_own_reason(
    people: Factory, service: EmbeddedService, gst: list[GstPeer]
) -> None:
    alice = await people("Alice")
    peer = await GstPeer.start(service.url, "gst", "--bad-fingerprint")
    gst.append(peer)
    call = alice.agent.start_call([peer.user_id], video_options=await alice.camera(1))
    await peer.wait(lambda s: s["state"] == "Ringing", "ringing")
    await peer.command("accept")
    await call.wait_for_state("Disconnected", timeout=40)
    reason = call.call_end_reason
    assert reason is not None
    assert (reason.code, reason.sub_code) == (410, 3101), reason
    assert "DTLS" in reason.message
    assert "ICE found a path" in reason.message
    ended = await peer.wait(lambda s: s["state"] == "Disconnected", "the other side told")
    assert (ended["endReason"]["code"], ended["endReason"]["subCode"]) == (410, 3101)
