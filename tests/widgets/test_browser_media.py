"""The browser bridge with no page attached (nbclient, scripts): a clean fallback, never a hang."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiortc.mediastreams import MediaStreamError

from labkit import CallState
from labkit.errors import ErrorCode, LabkitError
from labkit.widgets import BrowserMedia, CallApp

from ..helpers import Factory, engine_threads, frames_during


async def test_without_a_page_everything_falls_back_to_kernel_devices(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    bridge = BrowserMedia(alice.devices)
    began = time.monotonic()
    assert await bridge.wait_attached(0.3) is False
    assert time.monotonic() - began < 1.0
    with pytest.raises(LabkitError) as refused:
        await bridge.ask_device_permission()
    assert refused.value.code is ErrorCode.NO_PAGE
    assert refused.value.hint is not None
    assert "JupyterLab" in refused.value.hint
    assert "kernel-side devices" in refused.value.hint
    # the device manager answers for the kernel-side devices, and lists no page devices
    access = await alice.devices.ask_device_permission()
    assert (access.audio, access.video) == (True, True)
    names = [c.name for c in await alice.devices.get_cameras()]
    assert names[:2] == ["Synthetic camera 1 (bars)", "Synthetic camera 2 (checker)"]
    assert not any(c.id.startswith("page-") for c in await alice.devices.get_cameras())
    # a page source asked for anyway ends at once, with the reason
    engine = alice.devices.engine

    async def open_page_camera() -> str:
        track = bridge.link.open_source("video", "some-browser-device")
        try:
            await asyncio.wait_for(track.recv(), 1.0)
        except MediaStreamError as error:
            return str(error)
        return "a frame arrived"

    assert "no notebook page is attached" in await engine.run(open_page_camera())
    # and calls work as always
    call = alice.agent.start_call(bob.agent.user_id, video_options=await alice.camera())
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
    await call.wait_for_state(CallState.CONNECTED, timeout=10)
    (remote,) = bob_call.remote_participants
    await remote.video_streams[0].wait_until_available(10)
    assert await frames_during(remote.video_streams[0], 1.0) >= 10
    await bridge.dispose()


async def test_garbage_from_the_page_is_logged_and_ignored(people: Factory, caplog: pytest.LogCaptureFixture) -> None:
    alice = await people("Alice")
    bridge = BrowserMedia(alice.devices)
    caplog.set_level(logging.WARNING, logger="labkit.media.page_link")
    for garbage in ("not an object", {"no": "type"}, {"type": "fly"}, {"type": "devices", "devices": "nope"}):
        bridge.link.receive(garbage)
    await asyncio.sleep(0.3)
    messages = [r.getMessage() for r in caplog.records]
    assert any("not an object with a type" in m for m in messages), messages
    assert any("unknown message type 'fly'" in m for m in messages), messages
    assert bridge.link.attached is False
    assert bridge.link.devices == ()
    await bridge.dispose()


async def test_call_app_without_a_page_uses_images(people: Factory) -> None:
    alice = await people("Alice")
    app = await CallApp(alice.agent).start()
    assert app.bridge.attached is False
    assert app.picker.preview in app.picker.children  # the JPEG preview, not a <video>
    await app.dispose()


async def test_dispose_leaves_no_engine_thread(people: Factory) -> None:
    alice = await people("Alice")
    bridge = BrowserMedia(alice.devices)
    await bridge.dispose()
    await alice.client.dispose()
    assert not engine_threads()
