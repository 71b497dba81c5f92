"""The inspector's cost: CPU with packet capture on and off, and the ring buffer's memory, in one run.

One 1:1 video call at 640x480@30 (both ends in this process). CPU time over wall time is
measured in alternating windows with capture off and on (on the caller's link; off-on, then
on-off, so that a drift of the call's own CPU cancels out), and the
difference is the capture's cost, as a share of one core (aim: under 5 %). Then the ring
buffer is filled to its default size and its bytes are counted.

    python benchmarks/bench_inspector.py [--seconds 5] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

from video_call import one_to_one_video_call, window

from labkit.calling import Features
from labkit.media.packet_capture import DEFAULT_CAPACITY


async def main(seconds: float, rounds: int) -> None:
    async with one_to_one_video_call() as call:
        inspector = call.feature(Features.INSPECTOR)
        off: list[float] = []
        on: list[float] = []
        for round_number in range(rounds):  # off-on, then on-off: a slow drift of the call's CPU cancels out
            for capturing in (False, True) if round_number % 2 == 0 else (True, False):
                if capturing:
                    inspector.start_capture()
                else:
                    inspector.stop_capture()
                (on if capturing else off).append(await window(seconds))
        inspector.stop_capture()
        packets = inspector.capture_size()["packets"]
        per_second = packets / (seconds * rounds)
        inspector.start_capture()
        fill = DEFAULT_CAPACITY / max(per_second, 1.0)
        await asyncio.sleep(min(fill + 1.0, 120.0))
        inspector.stop_capture()
        kept = inspector.packets()
        payload = sum(len(p.data) for p in kept)
        overhead = sum(sys.getsizeof(p) + sys.getsizeof(p.data) for p in kept)
        await inspector.dispose()
    base, loaded = statistics.median(off), statistics.median(on)
    print(f"{rounds} rounds of {seconds:g} s each way; {per_second:.0f} packets/s captured on the caller's link\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| CPU of the call, capture off (% of a core) | {base * 100:.1f} |")
    print(f"| CPU of the call, capture on (% of a core) | {loaded * 100:.1f} |")
    print(f"| difference, on minus off (% of a core; aim < 5, noisy about ±4) | {(loaded - base) * 100:.2f} |")
    print(f"| ring buffer at its default size: packets | {len(kept)} (capacity {DEFAULT_CAPACITY}) |")
    memory = f"{payload / 1e6:.1f} / {overhead / 1e6:.1f}"
    print(f"| ring buffer at its default size: packet bytes / with Python objects (MB) | {memory} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rounds))
