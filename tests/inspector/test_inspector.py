"""The inspector on real calls: signaling, SDP, ICE, DTLS and packets, checked against the media view."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path

from labkit import Call
from labkit.calling import Features
from labkit.inspector import InspectorFeature, annotate
from labkit.inspector.plots import plot_sequence, plot_setup_timeline
from labkit.service import EmbeddedService

from ..browser.chromium_lab import CHROMIUM_FLAGS, chromium_context
from ..helpers import Factory, eventually, frames_arrive, video_call


def inspector(call: Call) -> InspectorFeature:
    feature = call.feature(Features.INSPECTOR)
    assert isinstance(feature, InspectorFeature)
    return feature


async def test_the_signaling_trace_starts_with_the_call_and_names_offer_and_answer(people: Factory) -> None:
    _, _, call, bob_call = await video_call(people)
    rows = inspector(call).signaling()
    assert [(r.direction, r.type) for r in rows[:2]] == [("sent", "start-call"), ("received", "roster")]
    assert rows[0].time_ms == 0.0
    types = [(r.direction, r.type) for r in rows]
    assert ("sent", "signal:offer") in types or ("received", "signal:offer") in types
    offer = next(r for r in rows if r.type == "signal:offer")
    assert offer.peer == bob_call.remote_participants[0].user_id or offer.peer == call.remote_participants[0].user_id
    assert "m-lines audio, video" in offer.summary
    bob_rows = inspector(bob_call).signaling()
    assert [(r.direction, r.type) for r in bob_rows[:3]] == [
        ("received", "incoming-call"),
        ("sent", "ringing"),
        ("sent", "accept"),
    ]
    assert all(r1.time_ms <= r2.time_ms for r1, r2 in itertools.pairwise(rows))


async def test_ice_and_dtls_are_shown_and_the_fingerprint_checks_out(people: Factory) -> None:
    _, _, call, bob_call = await video_call(people)
    for each in (call, bob_call):
        view = inspector(each).ice()
        assert view.selected_pair is not None
        assert view.local_candidates
        assert view.remote_candidates
        assert "completed" in [state for _, state in view.states] or "connected" in [s for _, s in view.states]
        dtls = inspector(each).dtls()
        assert dtls.fingerprint_matches, (dtls.sdp_fingerprint, dtls.description.peer_fingerprint)
        assert dtls.description.role in ("client", "server")
        assert dtls.description.cipher
        assert dtls.description.srtp_profile.startswith("SRTP_")
        assert dtls.handshake_ms is not None
        assert 0 < dtls.handshake_ms[0] < dtls.handshake_ms[1]
    roles = {inspector(c).dtls().description.role for c in (call, bob_call)}
    assert roles == {"client", "server"}
    assert any(c.result == "success" for c in inspector(call).ice().checks)
    stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await eventually(lambda: len(stats.samples) >= 4, timeout=10)
    await stats.dispose()
    rtt = stats.samples[-4].metrics.get("pair_rtt_in_ms")
    assert isinstance(rtt, float)
    assert 0 < rtt < 100


async def test_packets_match_the_media_view_and_rtcp_shows_reports_remb_and_a_pli(people: Factory) -> None:
    _, _, call, _ = await video_call(people)
    seen = inspector(call)
    link = call.media.links[call.remote_participants[0].user_id]

    async def count_as(switch: Callable[[], None]) -> dict[str, int]:
        """Switch the capture and read the link's counters at one instant: on the engine thread, between packets."""
        switch()
        return {kind: counter.packets for kind, counter in link.received.items()}

    before = await call.media.engine.run(count_as(seen.start_capture))
    await call.hold()  # when Alice resumes, her video flows again: she asks Bob for a keyframe (a PLI)
    await call.resume()
    await asyncio.sleep(3.0)
    # the receiver's first REMB comes once its estimate is set, about 3 s into the video: a young
    # call under load may need a little longer
    await eventually(lambda: "REMB" in {r.type for r in seen.rtcp()}, timeout=5, what="a REMB")
    after = await call.media.engine.run(count_as(seen.stop_capture))
    headers = [h for h in seen.rtp() if h.direction == "received"]
    for kind in ("audio", "video"):
        of_kind = [h for h in headers if h.kind == kind]
        assert len(of_kind) == after[kind] - before[kind]
        numbers = [h.sequence_number for h in of_kind]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"a {kind} sequence number is missing"
    reports = seen.rtcp()
    types = {r.type for r in reports}
    assert {"SR", "RR", "REMB"} <= types, types
    plis = [r for r in reports if r.type == "PLI" and r.direction == "sent"]
    assert plis, "the resume asked for no keyframe"
    video_ssrcs = {h.ssrc for h in headers if h.kind == "video"}
    assert {p.media_ssrc for p in plis} <= video_ssrcs
    remb = next(r for r in reports if r.type == "REMB")
    assert isinstance(remb.fields["bitrate"], int)
    size = seen.capture_size()
    assert size["packets"] == len(seen.packets())
    assert size["dropped"] == 0
    kept = len(seen.rtp())
    await call.hang_up()  # what the inspector kept outlives the call
    assert len(seen.rtp()) == kept
    assert seen.dtls().fingerprint_matches


async def test_turning_capture_on_and_off_mid_call_loses_no_media(people: Factory) -> None:
    _, _, _call, bob_call = await video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    seen = inspector(bob_call)
    for _ in range(4):
        seen.start_capture(capacity=100)
        await frames_arrive(stream, 8)
        seen.stop_capture()
        await frames_arrive(stream, 8)
    assert len(seen.packets()) == 100  # the ring buffer kept the newest 100
    assert seen.capture_size()["dropped"] > 0
    assert stream.longest_freeze_duration < 0.5


async def test_every_line_of_a_real_chromium_offer_is_explained(service: EmbeddedService) -> None:
    async for context in chromium_context(CHROMIUM_FLAGS):
        page = await context.new_page()
        await page.goto(service.url)  # a page on 127.0.0.1: a secure context, where getUserMedia exists
        sdp = await page.evaluate(
            """async () => {
                const pc = new RTCPeerConnection();
                const media = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
                media.getTracks().forEach((track) => pc.addTrack(track, media));
                await pc.setLocalDescription(await pc.createOffer());
                await new Promise((done) => {
                    if (pc.iceGatheringState === "complete") done();
                    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
                    setTimeout(done, 3000);
                });
                return pc.localDescription.sdp;
            }"""
        )
    lines = annotate(sdp)
    assert len(lines) == len([x for x in sdp.splitlines() if x.strip()])
    assert len(lines) > 60
    unknown = [line.line for line in lines if not line.known]
    assert unknown == [], unknown
    assert any("transport-wide" in line.meaning for line in lines)


async def test_the_webrtc_internals_dump_has_chromes_shape(people: Factory, tmp_path: Path) -> None:
    _, _, call, _ = await video_call(people)
    seen = inspector(call)
    await asyncio.sleep(3.5)  # three or four getStats samples
    path = seen.write_webrtc_internals(tmp_path / "dump.json")
    data = json.loads(path.read_text())
    assert set(data) >= {"getUserMedia", "PeerConnections", "UserAgent"}
    (connection,) = data["PeerConnections"].values()
    assert set(connection) >= {"url", "rtcConfiguration", "constraints", "updateLog", "stats"}
    kinds = [entry["type"] for entry in connection["updateLog"]]
    assert "setLocalDescription" in kinds
    assert "setRemoteDescription" in kinds
    assert "iceconnectionstatechange" in kinds
    assert "connectionstatechange" in kinds
    inbound = [key for key, series in connection["stats"].items() if series["statsType"] == "inbound-rtp"]
    received = next(key for key in inbound if key.endswith("-packetsReceived"))
    values = json.loads(connection["stats"][received]["values"])
    assert len(values) >= 3
    assert values == sorted(values)
    assert values[-1] > values[0]
    stats_id = received.removesuffix("-packetsReceived")
    stamps = json.loads(connection["stats"][f"{stats_id}-timestamp"]["values"])
    assert len(stamps) == len(values)
    assert 800 < stamps[1] - stamps[0] < 1500  # about a second apart, in milliseconds


async def test_the_setup_timeline_runs_in_the_order_a_call_is_built(people: Factory) -> None:
    _, _, call, _ = await video_call(people)
    seen = inspector(call)
    timeline = seen.setup_timeline()

    def at(lane: str, text: str) -> float:
        return next(e.time_ms for e in timeline if e.lane == lane and text in e.label)

    assert timeline[0].time_ms == 0.0
    assert at("signaling", "start-call") < at("signaling", "signal:offer")
    assert at("signaling", "signal:offer") <= at("ICE", "ice checking")
    assert at("ICE", "ice checking") <= at("DTLS", "dtls connected")
    assert at("DTLS", "dtls connected") <= at("media", "first video RTP")
    assert at("media", "first video RTP") <= at("media", "first frame")
    sequence, setup = plot_sequence(seen), plot_setup_timeline(seen)
    arrows = [child for child in sequence.axes[0].texts if "ms" in child.get_text()]
    assert len(arrows) == min(60, len(seen.signaling()))
    assert {tick.get_text() for tick in setup.axes[0].get_yticklabels()} >= {"signaling", "ICE", "DTLS", "media"}
