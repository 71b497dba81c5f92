"""Call setup against a labkit agent, engine by engine, side by side in one run.

Each engine calls a labkit Python agent (aiortc) that accepts at once with video, and the
caller times, from its start-call, its peer connection becoming ``connected`` and its
first decoded video frame:

- **labkit**: another Python agent (aiortc to aiortc);
- **Chromium** and **Firefox**: the web app (``GET /``), timed in the page (``performance.now``);
- **webrtcbin**: the GStreamer 1.22 client of the interop tests, timed by polling it.

Measured here before: Chromium about 95 to 145 ms to connected, Firefox about 170 to 210 ms.

    python benchmarks/bench_interop.py [--trials 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the interop tests' engines

from benchmarks.bench_browser import TIMED_CALL
from labkit import CallAgent, CallClient, LocalVideoStream, TokenCredential, request_token, start_service
from tests.interop.browsers import Chromium, Firefox, WebAppPeer
from tests.interop.gst_peer import GstPeer, require_gstreamer

Trial = Callable[[], Awaitable[tuple[float, float]]]


async def agent(url: str, name: str) -> tuple[CallClient, CallAgent]:
    token, _ = await request_token(url, name)
    client = CallClient(url)
    return client, await client.create_call_agent(TokenCredential(token), name)


def auto_accept(callee: CallAgent, camera: LocalVideoStream) -> None:
    async def accept(event: Any) -> None:
        await event.incoming_call.accept(video_options=camera)

    callee.on("incoming_call", accept)


async def labkit_trial(caller: CallAgent, callee_id: str, camera: LocalVideoStream) -> tuple[float, float]:
    started = time.perf_counter()
    call = caller.start_call([callee_id], video_options=camera)
    await call.wait_for_state("Connected", timeout=15)
    connected = time.perf_counter() - started
    await call.remote_participants[0].video_streams[0].next_frame(timeout=15)
    first = time.perf_counter() - started
    await call.hang_up()
    return connected * 1000, first * 1000


async def page_trial(web: WebAppPeer, callee_id: str) -> tuple[float, float]:
    result = await web.page.evaluate(TIMED_CALL, callee_id)
    return float(result["connected"]), float(result["firstVideo"])


async def gst_trial(url: str, callee_id: str) -> tuple[float, float]:
    peer = await GstPeer.start(url, f"gst-{uuid.uuid4().hex[:8]}")  # a name of its own: names are held a while
    try:
        started = time.perf_counter()
        await peer.command("call", to=callee_id)
        connected = first = None
        while first is None and time.perf_counter() - started < 15:
            stats = await peer.stats()
            now = (time.perf_counter() - started) * 1000
            if connected is None and stats["connection"] == "connected":
                connected = now
            if stats["videoFrames"] > 0:
                first = now
            await asyncio.sleep(0.002)
        await peer.command("hang-up")
        if connected is None or first is None:
            raise RuntimeError("webrtcbin's call did not connect")
        return connected, first
    finally:
        await peer.close()


async def main(trials: int) -> None:
    require_gstreamer()
    service = start_service()
    firefox, chromium = Firefox(), Chromium()
    clients: list[CallClient] = []
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        callee_client, callee = await agent(service.url, "callee")
        caller_client, caller = await agent(service.url, "caller")
        clients += [callee_client, caller_client]
        devices = await callee_client.get_device_manager()
        camera = LocalVideoStream((await devices.get_cameras())[0])
        auto_accept(callee, camera)
        callee_id = callee.identifier.raw_id
        fox_page = await firefox.open(f"{service.url}/?name=fox")
        fox = await WebAppPeer(fox_page, "fox", "firefox").signed_in()
        async with chromium.context() as context:
            page = await context.new_page()
            await page.goto(f"{service.url}/?name=chrome")
            chrome = await WebAppPeer(page, "chrome", "chromium").signed_in()
            engines: dict[str, Trial] = {
                "labkit (aiortc)": lambda: labkit_trial(caller, callee_id, camera),
                f"Chromium {chromium.version.split('/')[-1]}": lambda: page_trial(chrome, callee_id),
                f"Firefox {firefox.version.split('/')[-1]}": lambda: page_trial(fox, callee_id),
                "GStreamer 1.22 webrtcbin": lambda: gst_trial(service.url, callee_id),
            }
            for name, trial in engines.items():
                results[name] = []
                for _ in range(trials + 1):  # the first is a warm-up
                    results[name].append(await trial())
                    await asyncio.sleep(0.5)
                results[name] = results[name][1:]
    finally:
        for client in clients:
            await client.dispose()
        firefox.close()
        chromium.close()
        service.stop()
    print(f"Call setup to a labkit agent, {trials} trials each (median, min to max), ms:")
    print(f"  {'caller':28} {'connected':>22} {'first video frame':>22}")
    for name, rows in results.items():
        connected, first = [r[0] for r in rows], [r[1] for r in rows]
        cell = [f"{statistics.median(v):6.0f} ({min(v):4.0f}-{max(v):4.0f})" for v in (connected, first)]
        print(f"  {name:28} {cell[0]:>22} {cell[1]:>22}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    asyncio.run(main(parser.parse_args().trials))
