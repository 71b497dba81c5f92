"""labkit against raw aiortc, in one run: call setup, end-to-end video latency and CPU per call.

* **Raw aiortc:** two RTCPeerConnections in this process exchange offer and answer
  directly.
* **labkit:** Alice ``start_call``s Bob through the embedded service, and Bob accepts
  from his ``incoming_call`` handler.

Both use the same devices (640x480@30 synthetic cameras, tone microphones) and loopback
ICE.
* **Setup:** start to Connected on both sides, and to the caller's first remote video
  frame; the median of ``--runs``.
* **Latency:** capture time (stamped into each frame) to arrival of the decoded frame,
  at 640x480@30.
* **CPU:** process CPU time over wall time while one video call (both ends) runs.

    python benchmarks/bench_calls.py [--runs 10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from labkit import CallClient, LocalVideoStream, RemoteVideoStream, request_token, start_service
from labkit.media import frame_code
from labkit.media.ice import rtc_configuration
from labkit.media.microphones import ToneMicrophoneTrack
from labkit.media.rgb import rgb_image
from labkit.media.synthetic_camera import SyntheticCameraTrack


@dataclass
class Setup:
    connected_ms: float
    first_video_ms: float


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latencies_of(arrivals: list[tuple[float, VideoFrame]]) -> list[float]:
    """Capture-to-arrival times; stamps are decoded after the measurement, so decoding costs it nothing."""
    latencies = []
    for arrived, frame in arrivals:
        stamp = frame_code.decode(rgb_image(frame))
        if stamp is not None:
            latencies.append((arrived - stamp.capture_time_ms) % 2**32)
    return latencies


# --- raw aiortc -------------------------------------------------------------------------


class RawCall:
    def __init__(
        self,
        pc_class: type[RTCPeerConnection] = RTCPeerConnection,
        camera: Callable[[MediaStreamTrack], MediaStreamTrack] = lambda track: track,
    ) -> None:
        self.pcs = (pc_class(rtc_configuration()), pc_class(rtc_configuration()))
        self.video_at_caller: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        for index, pc in enumerate(self.pcs):
            pc.addTrack(ToneMicrophoneTrack(440 + 110 * index))
            pc.addTrack(camera(SyntheticCameraTrack(index + 1, f"raw {index}")))
            pc.on("track", lambda track, i=index: self._on_track(i, track))
            pc.on("connectionstatechange", self._check_connected)
        self.connected = asyncio.Event()

    def _check_connected(self) -> None:
        if all(pc.connectionState == "connected" for pc in self.pcs):
            self.connected.set()

    def _on_track(self, index: int, track: MediaStreamTrack) -> None:
        if index == 0 and track.kind == "video":
            self.video_at_caller.put_nowait(track)
        else:
            self.tasks.append(asyncio.ensure_future(drain(track)))

    async def connect(self) -> None:
        caller, callee = self.pcs
        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        await self.connected.wait()

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        for task in self.tasks:
            task.cancel()


async def drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        pass


async def raw_setup() -> Setup:
    call = RawCall()
    start = time.perf_counter()
    await call.connect()
    connected = time.perf_counter() - start
    track = await call.video_at_caller.get()
    await track.recv()
    first = time.perf_counter() - start
    await call.close()
    return Setup(connected * 1000, first * 1000)


async def raw_latency_and_cpu(seconds: float) -> tuple[list[float], float]:
    call = RawCall()
    await call.connect()
    track = await call.video_at_caller.get()
    warm_up = time.perf_counter()
    while time.perf_counter() - warm_up < 1.0:  # past the bitrate ramp-up, reading as labkit's sink does
        await track.recv()
    arrivals: list[tuple[float, VideoFrame]] = []
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        frame = await track.recv()
        arrivals.append((time.time() * 1000, frame))
    cpu = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
    await call.close()
    return latencies_of(arrivals), cpu


# --- labkit -----------------------------------------------------------------------------


async def labkit_call(url: str) -> tuple[list[CallClient], object, object, float]:
    clients = [CallClient(url), CallClient(url)]
    alice = await clients[0].create_call_agent((await request_token(url, "alice"))[0], "Alice")
    bob = await clients[1].create_call_agent((await request_token(url, "bob"))[0], "Bob")
    bob_devices = await clients[1].get_device_manager()
    bob_camera = LocalVideoStream((await bob_devices.get_cameras())[1])
    accepted: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def answer(event: object) -> None:
        accepted.set_result(await event.incoming_call.accept(video_options=bob_camera))  # type: ignore[attr-defined]

    bob.on("incoming_call", answer)
    alice_camera = LocalVideoStream((await (await clients[0].get_device_manager()).get_cameras())[0])
    start = time.perf_counter()
    call = alice.start_call([bob.identifier], video_options=alice_camera)
    return clients, call, accepted, start


async def labkit_setup(url: str) -> Setup:
    clients, call, accepted, start = await labkit_call(url)
    await call.wait_for_state("Connected")  # type: ignore[attr-defined]
    await (await accepted).wait_for_state("Connected")  # type: ignore[attr-defined]
    connected = time.perf_counter() - start
    stream: RemoteVideoStream = call.remote_participants[0].video_streams[0]  # type: ignore[attr-defined]
    await stream.next_frame()
    first = time.perf_counter() - start
    for client in clients:
        await client.dispose()
    return Setup(connected * 1000, first * 1000)


async def labkit_latency_and_cpu(url: str, seconds: float) -> tuple[list[float], float]:
    clients, call, _, _ = await labkit_call(url)
    await call.wait_for_state("Connected")  # type: ignore[attr-defined]
    stream: RemoteVideoStream = call.remote_participants[0].video_streams[0]  # type: ignore[attr-defined]
    await stream.next_frame()
    await asyncio.sleep(1.0)
    arrivals: list[tuple[float, VideoFrame]] = []
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        frame = await stream.next_frame()
        arrivals.append((time.time() * 1000, frame))
    cpu = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
    for client in clients:
        await client.dispose()
    return latencies_of(arrivals), cpu


async def main(runs: int, seconds: float) -> None:
    service = start_service()
    try:
        raw = [await raw_setup() for _ in range(runs)]
        lab = [await labkit_setup(service.url) for _ in range(runs)]
        raw_lat, raw_cpu = await raw_latency_and_cpu(seconds)
        lab_lat, lab_cpu = await labkit_latency_and_cpu(service.url, seconds)
    finally:
        service.stop()

    def med(items: list[Setup], attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in items)

    rows = [
        ("setup: start to Connected (ms, median)", med(raw, "connected_ms"), med(lab, "connected_ms"), 1.3),
        (
            "setup: start to first remote video (ms, median)",
            med(raw, "first_video_ms"),
            med(lab, "first_video_ms"),
            1.3,
        ),
        ("e2e video latency p50 (ms)", statistics.median(raw_lat), statistics.median(lab_lat), 1.1),
        ("e2e video latency p95 (ms)", percentile(raw_lat, 95), percentile(lab_lat, 95), 1.1),
        ("CPU per 1:1 video call, both ends (% of a core)", raw_cpu * 100, lab_cpu * 100, 1.1),
    ]
    print(f"{runs} setups each; latency and CPU over {seconds:g} s at 640x480@30; one process, loopback\n")
    print("| measure | raw aiortc | labkit | ratio | aim | within aim |")
    print("|---|---:|---:|---:|---:|:---:|")
    for name, raw_value, lab_value, aim in rows:
        ratio = lab_value / raw_value if raw_value else float("nan")
        within = "yes" if ratio <= aim else "no"
        print(f"| {name} | {raw_value:.1f} | {lab_value:.1f} | {ratio:.2f}x | {aim}x | {within} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.seconds))
