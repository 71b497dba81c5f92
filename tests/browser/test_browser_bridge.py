"""The browser bridge in real JupyterLab and Chromium: the page's fake camera as a labkit camera,
a kernel agent receiving it, kernel video playing in a native <video>, and a switch in the picker."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .chromium_lab import ARTIFACTS, Lab
from .lab_notebooks import KERNEL_IDLE, NOTEBOOK_TEXT, open_and_run, output_line, result, run_cells
from .web_pages import CALL_SUMMARY

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

BRIDGE_VIDEO_IN = """() => Promise.all([...globalThis.labkitBridges.values()].map(async (bridge) => {
  let video = null;
  (await bridge.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded) video = {
      framesDecoded: r.framesDecoded, width: r.frameWidth, height: r.frameHeight };
  });
  return video;
}))"""
BRIDGE_AUDIO_IN = """() => Promise.all([...globalThis.labkitBridges.values()].map(async (bridge) => {
  let energy = 0;
  (await bridge.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') energy += r.totalAudioEnergy || 0;
  });
  return { energy, sinkId: bridge.speaker.sinkId };
}))"""
BRIDGES = """() => ({ page_bridges: [...(globalThis.labkitBridges?.values() ?? [])].map((bridge) => ({
  welcomed: bridge.welcomed, connection: bridge.pc.connectionState })) })"""
VIDEO_ELEMENT = """() => [...document.querySelectorAll('video.labkit-browser-video')].map((v) => ({
  playing: !v.paused && v.readyState >= 2, time: v.currentTime, width: v.videoWidth }))"""


async def test_the_page_is_a_media_peer_of_the_kernel(lab: Lab, page: Any) -> None:
    await page.goto(lab.notebook_url("browser_bridge.ipynb"))
    await run_cells(page, 0, 3)  # up to the call, Bob's video in the page and the device picker
    try:
        assert await result(page, "permission", 90) == "RESULT permission True True"
        cameras = await result(page, "cameras")
        assert "'fake_device_0'" in cameras, cameras  # Chromium's fake camera, by its browser label
        speakers = await result(page, "speakers")
        assert "'Fake Default Audio Output'" in speakers, speakers  # browser speakers in get_speakers()

        # a kernel agent (Bob) decodes the page camera's frames: real pixels, moving, not a labkit stamp
        at_bob = await result(page, "page camera at bob")
        match = re.fullmatch(
            r"RESULT page camera at bob (\d+) frames/s \(480, 640, 3\) std ([\d.]+) changed (\w+) stamp (\w+)", at_bob
        )
        assert match is not None, at_bob
        assert int(match.group(1)) >= 10
        assert float(match.group(2)) > 10
        assert match.group(3) == "True"
        assert match.group(4) == "None"

        # Bob's video plays in the page's <video>, decoded by Chromium
        await result(page, "showing")
        # and the inspector sees inside the bridge's connection too (the page camera's RTP, RTCP, DTLS)
        assert await result(page, "bridge inspector", 30) == "RESULT bridge inspector True True True"
        video = page.locator("video.labkit-browser-video")
        await video.wait_for(timeout=15_000)
        await video.scroll_into_view_if_needed()  # Chromium pauses muted autoplay video out of view
        playing = "() => document.querySelector('video.labkit-browser-video').currentTime > 0.5"
        await page.wait_for_function(playing, timeout=15_000)
        # Chromium keeps decoding: at least 10 frames/s over 2 s (the rate itself is in benchmarks/;
        # a loaded CI machine has shown 15 frames in one second from a kernel sending 30/s)
        (first,) = await page.evaluate(BRIDGE_VIDEO_IN)
        await asyncio.sleep(2.0)
        (second,) = await page.evaluate(BRIDGE_VIDEO_IN)
        assert second["framesDecoded"] - first["framesDecoded"] >= 20, (first, second)
        assert (second["width"], second["height"]) == (640, 480)
        # Bob's tone plays through the page, on the speaker picked in the kernel
        (before,) = await page.evaluate(BRIDGE_AUDIO_IN)
        await asyncio.sleep(1.0)
        (after,) = await page.evaluate(BRIDGE_AUDIO_IN)
        assert after["energy"] - before["energy"] > 1e-3, (before, after)  # about 0.012 a second at -16 dBFS
        picked = await page.evaluate(
            "async () => (await navigator.mediaDevices.enumerateDevices())"
            ".find((d) => d.label === 'Fake Audio Output 1').deviceId"
        )
        assert after["sinkId"] == picked
        (element,) = await page.evaluate(VIDEO_ELEMENT)
        assert element["playing"], element
        assert element["width"] == 640
        await page.screenshot(path=str(ARTIFACTS / "bridge-1-call.png"))

        # a switch in the device picker switches the call's source, and back to the browser's camera
        # (ipywidgets sends one change per busy kernel, so each check runs once the kernel is idle)
        camera = page.locator(".widget-dropdown", has_text="Camera").locator("select")
        await page.wait_for_function(KERNEL_IDLE, timeout=30_000)
        await camera.select_option(label="Synthetic\xa0camera\xa02\xa0(checker)")
        await run_cells(page, 4)
        assert await result(page, "switched") == "RESULT switched [2]"
        await camera.select_option(label="fake_device_0")
        await run_cells(page, 5)
        back = await result(page, "back")
        match = re.fullmatch(r"RESULT back (\d+) frames/s stamp None", back)
        assert match is not None, back
        assert int(match.group(1)) >= 10
        await result(page, "done")
        assert await result(page, "leftovers") == "RESULT leftovers 0 connections []"  # no leaks after dispose()
        assert await page.get_by_text("Error displaying widget").count() == 0
    finally:
        await page.screenshot(path=str(ARTIFACTS / "bridge-2-end.png"), full_page=True)


async def test_a_denied_permission_reaches_diagnostics_and_the_error_bar(lab: Lab, denying_page: Any) -> None:
    page = denying_page
    await page.goto(lab.notebook_url("permission_denied.ipynb"))
    await run_cells(page, 0, 2)
    denied = await result(page, "denied")
    assert denied.startswith(
        "RESULT denied permission-denied | The browser did not allow the camera and microphone."
    ), denied
    assert "site settings" in denied  # JupyterLab on 127.0.0.1 is a secure context
    assert await result(page, "diagnostics") == "RESULT diagnostics True True"
    # the call app's error bar says it too, with what to do
    await page.get_by_text("The browser did not allow the camera and microphone").nth(0).wait_for(timeout=20_000)
    await page.screenshot(path=str(ARTIFACTS / "bridge-3-denied.png"), full_page=True)


async def test_notebook_04_uses_the_page_camera(lab: Lab, page: Any) -> None:
    shutil.copy(NOTEBOOKS / "04_your_camera.ipynb", lab.root)
    await open_and_run(page, lab, "04_your_camera.ipynb")
    assert await output_line(page, "granted:", 90) == "granted: DeviceAccess(audio=True, video=True)"
    assert await output_line(page, "calling with") == "calling with fake_device_0"  # the browser's camera
    receives = await output_line(page, "the partner receives")
    assert receives.startswith("the partner receives 640x480 at"), receives
    await output_line(page, "done", 60)
    await page.screenshot(path=str(ARTIFACTS / "notebook-04.png"), full_page=True)
    # Run All left the call up; the notebook's last button ends it and releases the camera
    await page.get_by_role("button", name="Hang up and clean up").click()
    done = "Done: the call is over and your camera and microphone are released."
    await page.get_by_text(done, exact=True).wait_for(timeout=30_000)


async def test_notebook_05_a_web_page_in_the_notebook_calls_it(lab: Lab, page: Any) -> None:
    shutil.copy(NOTEBOOKS / "05_call_from_a_browser.ipynb", lab.root)
    await open_and_run(page, lab, "05_call_from_a_browser.ipynb")
    frame = page.frame_locator("iframe")
    try:
        await frame.locator("#dialer").wait_for(state="visible", timeout=90_000)  # the web app, signed in as alice
    except Exception as error:
        bridges = await page.evaluate(BRIDGES)
        raise AssertionError(f"no web app in the notebook: {await page.evaluate(NOTEBOOK_TEXT)}; {bridges}") from error
    await frame.locator("#callee").fill("notebook")
    await frame.get_by_role("button", name="Video call", exact=True).click()
    await page.get_by_text("alice is calling you").wait_for(timeout=20_000)  # the notebook's call app rings
    await page.get_by_role("button", name="Accept with video").click()
    web = next(f for f in page.frames if "name=alice" in f.url)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        summary = await web.evaluate(CALL_SUMMARY)
        peers = list(summary["peers"].values()) if summary else []
        if peers and peers[0]["video"] and peers[0]["video"]["framesDecoded"] > 30:
            break
        assert asyncio.get_running_loop().time() < deadline, summary
        await asyncio.sleep(0.2)
    assert summary["state"] == "Connected"
    assert [p["displayName"] for p in summary["participants"].values()] == ["Notebook"]
    # and the notebook's app shows the page's camera in its tile, over the bridge
    tile = page.locator(".labkit-tile", has_text="alice").locator("video.labkit-browser-video")
    await tile.wait_for(timeout=20_000)
    await page.screenshot(path=str(ARTIFACTS / "notebook-05.png"), full_page=True)
    await page.get_by_role("button", name="Sign out and stop the service").click()
    await page.get_by_text("Done: signed out, the service stopped.", exact=True).wait_for(timeout=30_000)
