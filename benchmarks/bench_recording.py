"""What recording a call costs: the recorder thread's CPU, and what it writes.

One 1:1 video call at 640x480@30 (both ends in this process). Alice records it at each
size and frame rate below for a few seconds; the recorder's own thread time over wall
time is its cost, as a share of one core.

    python benchmarks/bench_recording.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import av
from video_call import one_to_one_video_call

from labkit.calling import Features

SETTINGS = ((640, 480, 15.0), (640, 480, 30.0), (1280, 720, 15.0))


async def main(seconds: float) -> None:
    rows = []
    async with one_to_one_video_call() as call:
        recording = call.feature(Features.RECORDING)
        with tempfile.TemporaryDirectory() as folder:
            for width, height, fps in SETTINGS:
                path = Path(folder) / f"{width}x{height}-{fps:g}.webm"
                await recording.start(path, width=width, height=height, fps=fps)
                recorder = recording.recorder
                started = time.perf_counter()
                await asyncio.sleep(seconds)
                await recording.stop()
                wall = time.perf_counter() - started
                with av.open(str(path)) as container:
                    duration = float(container.duration or 0) / av.time_base
                    frames = sum(1 for _ in container.decode(video=0))
                rows.append(
                    (
                        f"{width}x{height}@{fps:g}",
                        100 * recorder.cpu_seconds / wall,
                        frames / duration,
                        path.stat().st_size * 8 / duration / 1000,
                    )
                )
    print(f"{seconds:g} s of a 1:1 video call recorded at each setting\n")
    print("| recording | recorder thread (% of a core) | frames/s in the file | file bitrate (kbps) |")
    print("|---|---:|---:|---:|")
    for name, cpu, rate, kbps in rows:
        print(f"| {name} | {cpu:.1f} | {rate:.1f} | {kbps:.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds))
