"""The media stats collector's CPU cost, with and without it, in one run.

One 1:1 video call at 640x480@30 (both ends in this process). CPU time over wall time is
measured in alternating windows without a collector and with one (sampling every second,
the default), and the difference is the collector's cost, as a share of one core and as
a ratio.

    python benchmarks/bench_stats.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from video_call import one_to_one_video_call, window

from labkit.calling import Features


async def main(seconds: float, rounds: int) -> None:
    async with one_to_one_video_call() as call:
        without, with_collector, samples, busy = [], [], 0, 0.0
        for _ in range(rounds):
            without.append(await window(seconds))
            collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=1.0)
            with_collector.append(await window(seconds))
            samples += len(collector.samples)
            busy += collector.busy_seconds
            await collector.dispose()
    base, loaded = statistics.median(without), statistics.median(with_collector)
    print(f"{rounds} rounds of {seconds:g} s each way; {samples} samples taken\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| CPU of the call without a collector (% of a core) | {base * 100:.1f} |")
    print(f"| CPU of the call with a collector (% of a core) | {loaded * 100:.1f} |")
    print(f"| difference, with minus without (% of a core; noisy, about ±4) | {(loaded - base) * 100:.2f} |")
    print(f"| the collector's own sampling time (% of a core; aim < 3) | {busy / (seconds * rounds) * 100:.3f} |")
    print(f"| ratio with / without | {loaded / base:.3f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rounds))
