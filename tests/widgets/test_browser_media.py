"""The browser bridge with no page attached (nbclient, scripts): a clean fallback, never a hang."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiortc.mediastreams import MediaStreamError

from labkit import CallState
from labkit.errors import ErrorCode, LabkitError
from labkit.media.page_link import PageLink
from labkit.widgets import BrowserMedia, CallApp

from ..helpers import Factory, engine_threads, frames_arrive


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
    await frames_arrive(remote.video_streams[0], 10)
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


async def test_a_page_hello_is_welcomed_and_handled_once_per_page(people: Factory) -> None:
    alice = await people("Alice")
    sent: list[dict[str, Any]] = []
    link = PageLink(alice.devices.engine, sent.append)

    def count(kind: str) -> int:
        return [message["type"] for message in list(sent)].count(kind)

    async def until(done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, [message["type"] for message in sent]
            await asyncio.sleep(0.02)

    link.receive({"type": "hello", "page": "tab-1", "secureContext": True})
    await until(lambda: count("offer") == 1, 10)
    assert sent[0] == {"type": "welcome", "page": "tab-1"}
    assert link.attached
    # the page repeats its hello until welcomed: a repeat is welcomed, and the connection stays
    link.receive({"type": "hello", "page": "tab-1", "secureContext": True})
    await until(lambda: count("welcome") == 2, 10)
    await asyncio.sleep(0.5)
    assert count("offer") == 1
    # a reload is a new page: a new connection at once, though the old page never answered its offer
    link.receive({"type": "hello", "page": "tab-2", "secureContext": True})
    await until(lambda: count("offer") == 2, 5)  # within the 10 s the old offer would have waited
    first, second = (message["sdp"] for message in sent if message["type"] == "offer")
    ufrag = re.compile(r"a=ice-ufrag:(\S+)")
    assert ufrag.findall(first)[0] != ufrag.findall(second)[0]
    await alice.devices.engine.run(link.close())
