"""How fast the video panel shows video: frames per second per 320x240 tile, and the kernel's cost.

A 3-person group call (640x480@30 cameras) in this process. Alice's ``VideoPanel`` shows
two remote tiles and her preview, pumped as JPEG into ``ipywidgets.Image`` at the target
rate. Reported: the frames each tile received per second, and the kernel time that
scaling and JPEG encoding took, as a share of one core. The page side (sending the JPEG
to the browser) is not included.

    python benchmarks/bench_widgets.py [--seconds 10] [--fps 15 30]
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from labkit import CallClient, LocalVideoStream, request_token, start_service
from labkit.widgets import VideoPanel


async def run(url: str, fps: float, seconds: float) -> tuple[list[float], float]:
    group = str(uuid.uuid4())
    clients, calls = [], []
    for name in ("Alice", "Bob", "Carol"):
        client = CallClient(url)
        agent = await client.create_call_agent((await request_token(url, name.lower()))[0], name)
        camera = LocalVideoStream((await (await client.get_device_manager()).get_cameras())[0])
        call = agent.join(group, video_options=camera)
        await call.wait_for_state("Connected")
        clients.append(client)
        calls.append(call)
    await calls[0].wait_for_remote_participants(2, timeout=20)
    panel = await VideoPanel(calls[0], fps=fps).start()
    await asyncio.sleep(2.0)
    before = [feed.frames_pushed for feed in panel.pump.feeds]
    busy = panel.pump.busy_seconds
    await asyncio.sleep(seconds)
    rates = [(feed.frames_pushed - b) / seconds for feed, b in zip(panel.pump.feeds, before, strict=True)]
    cost = (panel.pump.busy_seconds - busy) / seconds
    await panel.dispose()
    for client in clients:
        await client.dispose()
    return rates, cost


async def main(seconds: float, targets: list[float]) -> None:
    service = start_service()
    try:
        print(f"3-person call, Alice's panel: 2 remote tiles + her preview, 320x240 JPEG; {seconds:g} s per row\n")
        print("| pump target (fps) | frames per second per tile | kernel cost of the pump (% of a core) |")
        print("|---:|---|---:|")
        for fps in targets:
            rates, cost = await run(service.url, fps, seconds)
            print(f"| {fps:g} | {', '.join(f'{r:.1f}' for r in rates)} | {cost * 100:.1f} |", flush=True)
    finally:
        service.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, nargs="+", default=[15.0, 30.0])
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.fps))
