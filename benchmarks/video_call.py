"""The call the CPU benchmarks measure (a 1:1 video call at 640x480@30, both ends in this process), and how."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from labkit import Call, CallClient, LocalVideoStream, request_token, start_service


@asynccontextmanager
async def one_to_one_video_call(ramp_up: float = 2.0) -> AsyncIterator[Call]:
    """Alice's side of a connected call with Bob (camera 1 and camera 2), past the ramp-up."""
    service = start_service()
    clients = [CallClient(service.url), CallClient(service.url)]
    try:
        alice = await clients[0].create_call_agent((await request_token(service.url, "alice"))[0], "Alice")
        bob = await clients[1].create_call_agent((await request_token(service.url, "bob"))[0], "Bob")
        cameras = [await (await c.get_device_manager()).get_cameras() for c in clients]
        call = alice.start_call([bob.identifier], video_options=LocalVideoStream(cameras[0][0]))
        await (await bob.wait_for_incoming_call()).accept(video_options=LocalVideoStream(cameras[1][1]))
        await call.wait_for_state("Connected")
        await asyncio.sleep(ramp_up)
        yield call
    finally:
        for client in clients:
            await client.dispose()
        service.stop()


def cpu_seconds() -> float:
    """This process's CPU time so far (user and system), every thread included."""
    times = os.times()
    return times.user + times.system


async def window(seconds: float) -> float:
    """The process's CPU share (of one core) over the next ``seconds``."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (cpu_seconds() - cpu) / (time.perf_counter() - wall)
