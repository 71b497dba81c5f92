"""The interop matrix: the web app in Firefox and in Chromium, against a Python agent and each other.

One browser per engine serves the whole module. Media is judged where it arrives: decoded
frames and audio energy from the page's getStats, frames and levels at the Python agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import pytest

from labkit import Call, CallState
from labkit.service import EmbeddedService

from ..helpers import Factory, Person, eventually, frames_arrive, frames_during, grows_by
from .browsers import Chromium, Firefox, WebAppPeer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENGINES = ("chromium", "firefox")


@pytest.fixture(scope="module")
def browsers() -> Iterator[dict[str, Any]]:
    started: dict[str, Any] = {}
    try:
        started["firefox"] = Firefox()
        started["chromium"] = Chromium()
        yield started
    finally:
        for browser in started.values():
            browser.close()


@asynccontextmanager
async def web_app(browsers: dict[str, Any], engine: str, url: str, name: str) -> AsyncIterator[WebAppPeer]:
    """The web app signed in as ``name`` in a new page of ``engine``; closed afterwards."""
    address = f"{url}/?name={name}"
    if engine == "firefox":
        page = await browsers["firefox"].open(address)
        try:
            yield await WebAppPeer(page, name, engine).signed_in()
        finally:
            await page.close()
    else:
        async with browsers["chromium"].context() as context:
            page = await context.new_page()
            await page.goto(address)
            yield await WebAppPeer(page, name, engine).signed_in()


async def connect(people: Factory, web: WebAppPeer, browser_calls: bool) -> tuple[Person, Call]:
    alice = await people("Alice")
    camera = await alice.camera(1)
    if browser_calls:  # the Python agent accepts, so it offers
        await web.dial(alice.agent.identifier.raw_id)
        call = await (await alice.agent.wait_for_incoming_call(timeout=10)).accept(video_options=camera)
    else:  # the page accepts, so the browser offers
        call = alice.agent.start_call([web.user_id], video_options=camera)
        await web.accept()
    await call.wait_for_state(CallState.CONNECTED, timeout=15)
    await web.wait_state("Connected")
    return alice, call


async def media_both_ways(web: WebAppPeer, alice: Person, call: Call, what: str) -> None:
    me = alice.agent.identifier.raw_id
    remote = call.remote_participants[0]
    await eventually(lambda: bool(remote.video_streams), 10, f"{what}: the page's video stream")
    stream = remote.video_streams[0]
    await stream.wait_until_available(10)
    await frames_arrive(
        stream, 10, what=f"{what}: the {web.engine} camera at the Python agent (the call: {call.state.value})"
    )
    await eventually(lambda: remote.audio_level_dbfs() > -60, 10, f"{what}: audio from {web.engine}")
    decoded = f"{what}: {web.engine} decoding aiortc's VP8"
    await grows_by(lambda: web.total(me, "video", "framesDecoded"), 10, what=decoded)
    energy = await web.rate(me, "audio", "energy")
    assert energy > 1e-3, f"{what}: aiortc's tone in {web.engine} ({energy})"


async def nothing_either_way(web: WebAppPeer, alice: Person, call: Call, what: str) -> None:
    me = alice.agent.identifier.raw_id
    await asyncio.sleep(0.5)
    assert await frames_during(call.remote_participants[0].video_streams[0], 1.0) == 0, f"{what}: frames at Python"
    assert await web.rate(me, "video", "framesDecoded") == 0, f"{what}: frames in {web.engine}"
    assert await web.rate(me, "audio", "energy") < 1e-5, f"{what}: audio in {web.engine}"


@pytest.mark.parametrize("browser_calls", [True, False], ids=["browser-calls", "python-calls"])
@pytest.mark.parametrize("engine", ENGINES)
async def test_a_browser_and_a_python_agent(
    browsers: dict[str, Any], service: EmbeddedService, people: Factory, engine: str, browser_calls: bool
) -> None:
    async with web_app(browsers, engine, service.url, "page") as web:
        alice, call = await connect(people, web, browser_calls)
        me = alice.agent.identifier.raw_id
        await media_both_ways(web, alice, call, "connected")
        remote = call.remote_participants[0]

        await call.mute()
        await asyncio.sleep(0.8)
        # a second of silence in the page (the tone is about 0.0125 a second; a window may catch its tail)
        quiet = [await web.rate(me, "audio", "energy")]
        while quiet[-1] >= 1e-5 and len(quiet) < 4:
            quiet.append(await web.rate(me, "audio", "energy"))
        assert quiet[-1] < 1e-5, f"labkit muted: energy in the page, a second at a time: {quiet}"
        await call.unmute()
        await web.do("mute")
        await eventually(lambda: remote.is_muted and remote.audio_level_dbfs() < -60, 5, "the page muted")
        await web.do("unmute")
        await eventually(lambda: remote.audio_level_dbfs() > -60, 10, "the page unmuted")

        await call.stop_video()
        await asyncio.sleep(0.5)
        assert await web.rate(me, "video", "framesDecoded") == 0, "labkit's video off"
        await call.start_video(await alice.camera(1))
        await media_both_ways(web, alice, call, "labkit's video on again")
        await web.do("stopVideo")
        await eventually(lambda: not remote.video_streams[0].is_available, 5, "the page's video off")
        await asyncio.sleep(0.5)
        assert await frames_during(remote.video_streams[0], 1.0) == 0, "no frames from the page's video off"
        await web.do("startVideo")
        await media_both_ways(web, alice, call, "the page's video on again")

        await call.local_video_streams[0].switch_source((await alice.devices.get_cameras())[1])
        await grows_by(lambda: web.total(me, "video", "framesDecoded"), 10, what="frames after a camera switch")

        for cycle in (1, 2):
            await call.hold()
            await web.wait(lambda s: s["state"] == "RemoteHold", "the page sees the hold")
            await nothing_either_way(web, alice, call, f"labkit's hold {cycle}")
            await call.resume()
            await media_both_ways(web, alice, call, f"after labkit's resume {cycle}")
        for cycle in (1, 2):
            await web.do("hold")
            await call.wait_for_state(CallState.REMOTE_HOLD, timeout=10)
            await nothing_either_way(web, alice, call, f"{engine}'s hold {cycle}")
            await web.do("resume")
            await call.wait_for_state(CallState.CONNECTED, timeout=10)
            await media_both_ways(web, alice, call, f"after {engine}'s resume {cycle}")

        await web.do("hangUp")
        await call.wait_for_state(CallState.DISCONNECTED, timeout=5)
        reason = call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code) == (0, 0)
        assert "page hung up" in reason.message


async def test_firefox_and_chromium_hold_each_other_through_the_web_app(
    browsers: dict[str, Any], service: EmbeddedService
) -> None:
    async with AsyncExitStack() as stack:
        fox = await stack.enter_async_context(web_app(browsers, "firefox", service.url, "fox"))
        chrome = await stack.enter_async_context(web_app(browsers, "chromium", service.url, "chrome"))
        await fox.dial(chrome.user_id)  # Firefox offers first: its codecs, its extension ids
        await chrome.accept()
        await fox.wait_state("Connected")
        await chrome.wait_state("Connected")

        async def flowing(what: str) -> None:
            for web, other in ((fox, chrome), (chrome, fox)):
                frames = partial(web.total, other.user_id, "video", "framesDecoded")
                await grows_by(frames, 10, within=10, what=f"{what}: {web.engine} decoding")

        async def still(what: str) -> None:
            await asyncio.sleep(0.5)
            for web, other in ((fox, chrome), (chrome, fox)):
                assert await web.rate(other.user_id, "video", "framesDecoded") == 0, f"{what}: {web.engine}"

        await flowing("connected")
        for holder, other in ((fox, chrome), (chrome, fox), (fox, chrome), (chrome, fox)):
            await holder.do("hold")
            await other.wait(lambda s: s["state"] == "RemoteHold", f"{other.engine} sees {holder.engine}'s hold")
            await still(f"{holder.engine} holds")
            await holder.do("resume")
            await other.wait(lambda s: s["state"] == "Connected", f"{other.engine} sees the resume")
            await flowing(f"after {holder.engine}'s resume")
        await fox.do("hangUp")
        await chrome.wait_state("Disconnected")


async def test_firefox_re_offering_its_own_payload_types_keeps_the_media(
    browsers: dict[str, Any], service: EmbeddedService, people: Factory
) -> None:
    """A page that calls setCodecPreferences after answering, then re-offers (as the web app once did).

    Firefox then renumbers its codecs (Opus 109, VP8 120, rtx 124). aiortc answers with the
    new numbers but applies parameters once; labkit maps them, so media flows after the hold.
    """
    async with web_app(browsers, "firefox", service.url, "page") as web:
        alice, call = await connect(people, web, browser_calls=True)  # labkit offers first
        await media_both_ways(web, alice, call, "connected")
        renumbered = await web.page.evaluate(
            """async () => {
                const link = [...window.labkit.call.links.values()][0];
                for (const t of link.pc.getTransceivers()) link._prefer(t);
                link._offerer = true;  // re-offer itself, as a page without labkit's rule would
                await window.labkit.call.hold();
                return link.pc.localDescription.sdp.split('\\r\\n').filter((l) => l.startsWith('a=rtpmap:'));
            }"""
        )
        assert any(line.startswith("a=rtpmap:109 opus") for line in renumbered), renumbered
        assert any(line.startswith("a=rtpmap:120 VP8") for line in renumbered), renumbered
        await call.wait_for_state(CallState.REMOTE_HOLD, timeout=10)
        await nothing_either_way(web, alice, call, "Firefox's hold with new numbers")
        await web.do("resume")
        await call.wait_for_state(CallState.CONNECTED, timeout=10)
        await media_both_ways(web, alice, call, "after a resume with Firefox's numbers")


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_inspector_sees_inside_a_call_with_a_browser(
    browsers: dict[str, Any], service: EmbeddedService, people: Factory, engine: str
) -> None:
    from labkit.calling import Features
    from labkit.inspector import InspectorFeature, annotate

    async with web_app(browsers, engine, service.url, f"{engine}-inspected") as web:
        alice, call = await connect(people, web, browser_calls=True)
        await media_both_ways(web, alice, call, f"{engine} inspected")
        inspector = call.feature(Features.INSPECTOR)
        assert isinstance(inspector, InspectorFeature)
        inspector.start_capture()
        await asyncio.sleep(3.0)
        inspector.stop_capture()
        received = [h for h in inspector.rtp() if h.direction == "received"]
        for kind in ("audio", "video"):
            numbers = [h.sequence_number for h in received if h.kind == kind]
            assert len(numbers) > 20, f"{engine} sent too little {kind}"
            ssrc_numbers: dict[int, list[int]] = {}
            for h in received:
                if h.kind == kind:
                    ssrc_numbers.setdefault(h.ssrc, []).append(h.sequence_number)
            for ssrc, seen in ssrc_numbers.items():  # each of the browser's streams arrives whole
                assert sorted(seen) == list(range(min(seen), min(seen) + len(seen))), f"{engine} {kind} {ssrc}"
        from_browser = {r.type for r in inspector.rtcp() if r.direction == "received"}
        assert {"SR", "RR"} & from_browser, from_browser
        remote = next(d for d in inspector.descriptions() if d.side == "remote")  # the browser's answer
        unknown = [line.line for line in annotate(remote.sdp) if not line.known]
        assert unknown == [], f"lines of {engine}'s answer left unexplained: {unknown}"
        assert inspector.dtls().fingerprint_matches
        await call.hang_up()
