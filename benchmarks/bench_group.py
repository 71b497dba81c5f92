"""Group calls as a mesh and through Janus, side by side: CPU per participant and received frame rate.

For each size N (2, 3, 4, 6, 8 by default) and each mode, N students join one group call,
each in a process of its own (as in a class: one kernel or laptop each, here sharing this
machine's cores), with 640x480@30 synthetic cameras and tone microphones, on loopback ICE:

* **mesh:** a service with no SFU; each student encodes its camera once per peer (N-1
  times) and decodes N-1 streams.
* **sfu:** a service with a Janus of its own (``--sfu-above 0``); each student encodes
  once, publishes to Janus and decodes N-1 streams.

Once every student receives everyone (or 30 s have passed), all measure the same
``--seconds``: each its own CPU time over wall time, and the frame rate it decodes from
each sender. Reported: the mean CPU per student (percent of one core), Janus's CPU, and the
frame rate over all (receiver, sender) pairs, minimum and mean (a pair that never
connected counts 0). The largest group in which every pair holds 25 fps is given per mode.

    python benchmarks/bench_group.py [--sizes 2,3,4,6,8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from labkit import CallClient, LocalVideoStream, OutgoingVideoConstraints, TokenCredential, request_token
from labkit.service import EmbeddedService, SfuConfiguration, start_service

REAL_TIME_FPS = 25.0
SCRIPT = os.path.abspath(__file__)


@dataclass
class Point:
    mode: str
    size: int
    cpu_per_participant: float
    """The mean over students, percent of one core (Janus not included)."""
    sfu_cpu: float
    """Janus's share, percent of one core (0 for a mesh)."""
    min_fps: float
    mean_fps: float


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def janus_pids(service: EmbeddedService) -> list[int]:
    sfu = service.sfu
    if sfu is None:
        return []
    return [i.process.pid for i in sfu.instances if i.process is not None and i.process.pid is not None]


async def student(
    endpoint: str, group: str, name: str, peers: int, seconds: float, camera_index: int, height: int, fps: float
) -> None:
    """One student's process: join, wait for everyone, then on "go" measure and print one JSON line."""
    token, _ = await request_token(endpoint, name)
    client = CallClient(endpoint)
    agent = await client.create_call_agent(TokenCredential(token), name)
    devices = await client.get_device_manager()
    camera = (await devices.get_cameras())[camera_index % 2]
    call = agent.join(group, video_options=LocalVideoStream(camera))
    if height or fps:
        await call.set_constraints(OutgoingVideoConstraints(max_height=height or None, max_frame_rate=fps or None))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (  # noqa: ASYNC110  (a condition over many streams)
        len(call.remote_participants) == peers
        and all(p.video_streams and p.video_streams[0].frames_received > 10 for p in call.remote_participants)
    ):
        await asyncio.sleep(0.2)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    frames = {p.user_id: p.video_streams[0].frames_received for p in call.remote_participants if p.video_streams}
    cpu, start = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - start
    used = cpu_seconds() - cpu
    rates = [
        (p.video_streams[0].frames_received - frames.get(p.user_id, 0)) / wall if p.video_streams else 0.0
        for p in call.remote_participants
    ]
    rates += [0.0] * (peers - len(rates))
    print(json.dumps({"cpu": 100 * used / wall, "rates": rates}), flush=True)
    await call.hang_up()
    await client.dispose()


async def measure(
    service: EmbeddedService, mode: str, size: int, seconds: float, height: int = 0, fps: float = 0
) -> Point:
    group = str(uuid.uuid4())
    script = SCRIPT
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            script,
            "--student",
            service.url,
            group,
            f"{mode}{size}-student{n}",
            str(size - 1),
            str(seconds),
            str(n),
            str(height),
            str(fps),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for n in range(size)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            await asyncio.wait_for(process.stdout.readline(), 90)  # ready (or given up waiting)
        await asyncio.sleep(1.0)  # past the start-up keyframes
        pids = janus_pids(service)
        janus = sum(process_cpu_seconds(pid) for pid in pids)
        start = time.monotonic()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        results = []
        for process in processes:
            assert process.stdout is not None
            results.append(json.loads(await asyncio.wait_for(process.stdout.readline(), seconds + 60)))
        wall = time.monotonic() - start
        janus_used = sum(process_cpu_seconds(pid) for pid in pids) - janus
    finally:
        for process in processes:
            if process.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 15)
            if process.returncode is None:
                process.kill()
                await process.wait()
    rates = [rate for result in results for rate in result["rates"]]
    return Point(
        mode,
        size,
        cpu_per_participant=statistics.fmean(r["cpu"] for r in results),
        sfu_cpu=100 * janus_used / wall,
        min_fps=min(rates),
        mean_fps=statistics.fmean(rates),
    )


async def run(sizes: list[int], seconds: float, height: int, fps: float) -> list[Point]:
    points = []
    for mode in ("mesh", "sfu"):
        sfu = SfuConfiguration(above=0) if mode == "sfu" else None
        service = start_service(sfu=sfu)
        try:
            for size in sizes:
                point = await measure(service, mode, size, seconds, height, fps)
                print(
                    f"{mode:4} {size:2} students: {point.cpu_per_participant:5.1f}% of a core each"
                    f" (Janus {point.sfu_cpu:4.1f}%), fps min {point.min_fps:4.1f} mean {point.mean_fps:4.1f}",
                    flush=True,
                )
                points.append(point)
                await asyncio.sleep(1.0)
        finally:
            service.stop()
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2,3,4,6,8", help="group sizes (default 2,3,4,6,8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds measured per point (default 5)")
    parser.add_argument("--max-height", type=int, default=0, help="students send at most this height (0: 480)")
    parser.add_argument("--fps", type=float, default=0, help="students send at most this frame rate (0: 30)")
    parser.add_argument("--student", nargs=8, metavar="ARG", help=argparse.SUPPRESS)  # one student's process
    args = parser.parse_args()
    if args.student:
        endpoint, group, name, peers, seconds, index, height, fps = args.student
        asyncio.run(student(endpoint, group, name, int(peers), float(seconds), int(index), int(height), float(fps)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    points = asyncio.run(run(sizes, args.seconds, args.max_height, args.fps))
    real_time = min(REAL_TIME_FPS, 0.85 * args.fps) if args.fps else REAL_TIME_FPS
    print(f"\n{'size':>4} | {'mesh CPU/person':>15} {'mesh min fps':>12} | {'SFU CPU/person':>14} {'SFU min fps':>11}")
    for size in sizes:
        mesh = next(p for p in points if p.mode == "mesh" and p.size == size)
        sfu = next(p for p in points if p.mode == "sfu" and p.size == size)
        print(
            f"{size:>4} | {mesh.cpu_per_participant:14.1f}% {mesh.min_fps:12.1f} |"
            f" {sfu.cpu_per_participant:13.1f}% {sfu.min_fps:11.1f}"
        )
    for mode in ("mesh", "sfu"):
        held = [p.size for p in points if p.mode == mode and p.min_fps >= real_time]
        print(f"largest {mode} group at {real_time:g} fps for everyone: {max(held, default=0)}")


if __name__ == "__main__":
    main()
