"""What hostile clients do to the service, and how many honest calls one service carries.

1. **Fuzz:** 10,000 fuzzed frames from 20 connections against a live 1:1 video call:
   every frame answered (no silent drop), no traceback logged, the call's frame rate before
   and during.
2. **Flood:** rings and hang-ups aimed at one user for 5 s: that user stays connected, the
   flooder is slowed to its invitation rate.
3. **Idle and slow:** 2,000 idle connections and 1,000 clients trickling their request head
   at a standalone ``labkit serve``: ``/health`` latency throughout, and the service's RSS.
4. **Capacity:** concurrent 1:1 audio calls through one ``labkit serve``, the agents in 4
   processes on this machine: for each size, the share of time the callee hears the caller.

    python benchmarks/bench_hostile.py [--only fuzz flood idle calls] [--calls 24 48 72 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit import CallClient, LocalVideoStream, VideoOptions, request_token, start_service  # noqa: E402
from tests.agent_socket import AgentSocket  # noqa: E402
from tests.hostile_clients import Drain, Flood, close_all, fuzzed_frames, idle_connections, slow_request  # noqa: E402

PRESENT_DBFS = -60.0


class Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1


async def _video_call(url: str) -> tuple[Any, Any, list[CallClient]]:
    clients = [CallClient(url), CallClient(url)]
    alice = await clients[0].create_call_agent((await request_token(url, "alice"))[0], "Alice")
    bob = await clients[1].create_call_agent((await request_token(url, "bob"))[0], "Bob")
    cameras = await (await clients[0].get_device_manager()).get_cameras()
    call = alice.start_call([bob.identifier], video_options=VideoOptions([LocalVideoStream(cameras[0])]))
    await (await bob.wait_for_incoming_call()).accept(video_options=VideoOptions([LocalVideoStream(cameras[1])]))
    await call.wait_for_state("Connected")
    await asyncio.sleep(2.0)
    return call, bob, clients


async def _fps(call: Any, seconds: float) -> float:
    stream = call.remote_participants[0].video_streams[0]
    before = stream.frames_received
    await asyncio.sleep(seconds)
    return float(stream.frames_received - before) / seconds


async def fuzz(frames: int = 10_000, connections: int = 20) -> None:
    tracebacks = Tracebacks()
    logging.getLogger("labkit").addHandler(tracebacks)
    service = start_service()
    call, _, clients = await _video_call(service.url)
    try:
        before = await _fps(call, 2.0)
        fuzzers = [await AgentSocket.signed_in(service.url, f"fuzz{n}") for n in range(connections)]
        drains = [Drain(f) for f in fuzzers]
        per = frames // connections
        started = time.perf_counter()
        floods = [Flood(f, fuzzed_frames(per, seed=n, call_id=call.id)) for n, f in enumerate(fuzzers)]
        during = await _fps(call, 3.0)

        def answered() -> int:
            return sum(sum(d.counts.values()) - sum(e["code"] == "rate-limited" for e in d.errors) for d in drains)

        while answered() < per * connections and time.perf_counter() - started < 120:  # noqa: ASYNC110  (polls counters)
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        print("## Fuzz: 10,000 frames against a live call\n")
        print("| frames sent | answered | silent drops | tracebacks | call fps before | during | time (s) |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {sum(f.sent for f in floods):,} | {answered():,} | {per * connections - answered()} "
            f"| {tracebacks.count} | {before:.1f} | {during:.1f} | {elapsed:.1f} |\n"
        )
        for flood, drain, fuzzer in zip(floods, drains, fuzzers, strict=True):
            await flood.stop()
            await drain.stop()
            await fuzzer.close()
    finally:
        for client in clients:
            await client.dispose()
        service.stop()
        logging.getLogger("labkit").removeHandler(tracebacks)


async def flood(seconds: float = 5.0) -> None:
    service = start_service()
    call, bob, clients = await _video_call(service.url)
    try:
        rings: list[object] = []
        bob.on("incoming_call", rings.append)
        mallory = await AgentSocket.signed_in(service.url, "mallory")
        drain = Drain(mallory)
        frames = []
        for _ in range(3000):
            call_id = str(uuid.uuid4())
            frames.append(json.dumps({"type": "start-call", "callId": call_id, "participants": [bob.user_id]}))
            frames.append(json.dumps({"type": "hang-up", "callId": call_id}))
        flooding = Flood(mallory, frames)
        fps = await _fps(call, seconds)
        print("## Flood: rings and hang-ups aimed at one user\n")
        print("| seconds | victim connected | rings it got per s | call fps meanwhile | flooder told rate-limited |")
        print("|---:|---|---:|---:|---|")
        told = any(e["code"] == "rate-limited" for e in drain.errors)
        print(f"| {seconds:g} | {bob.connection_state.value} | {len(rings) / seconds:.1f} | {fps:.1f} | {told} |\n")
        await flooding.stop()
        await drain.stop()
        await mallory.close()
    finally:
        for client in clients:
            await client.dispose()
        service.stop()


def _serve(*extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    match = re.search(r"(http://\S+)", process.stdout.readline())
    assert match, "labkit serve did not start"
    return process, match.group(1)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def idle(idle_count: int = 2000, slow_count: int = 1000) -> None:
    import aiohttp

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    process, url = _serve()
    port = int(url.rsplit(":", 1)[1])
    try:
        latencies: list[float] = []
        rss: list[float] = []
        stop = asyncio.Event()

        async def probe() -> None:
            async with aiohttp.ClientSession() as http:
                while not stop.is_set():
                    started = time.perf_counter()
                    async with http.get(url + "/health") as response:
                        await response.read()
                    latencies.append((time.perf_counter() - started) * 1000)
                    rss.append(_rss_mb(process.pid))
                    await asyncio.sleep(0.2)

        prober = asyncio.ensure_future(probe())
        writers = await idle_connections(port, idle_count, sources=40)
        slow = [
            asyncio.ensure_future(slow_request(port, f"127.0.1.{1 + n % 40}", 15.0, 0.5)) for n in range(slow_count)
        ]
        hung_up = await asyncio.gather(*slow)
        stop.set()
        await prober
        close_all(writers)
        print("## Idle and slow clients\n")
        print("| idle | trickling | trickling hung up | /health p50 (ms) | max (ms) | probes | service RSS max (MB) |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {len(writers):,} | {slow_count:,} | {sum(hung_up):,} | {statistics.median(latencies):.1f} "
            f"| {max(latencies):.1f} | {len(latencies)} | {max(rss):.0f} |\n"
        )
    finally:
        process.terminate()
        process.wait(10)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def worker(url: str, pairs: int, seconds: float, tag: str) -> None:
    """One of the capacity run's processes: ``pairs`` audio calls; prints each callee's audio presence."""
    clients: list[CallClient] = []
    calls = []
    for n in range(pairs):
        caller_client, callee_client = CallClient(url), CallClient(url)
        clients += [caller_client, callee_client]
        caller = await caller_client.create_call_agent((await request_token(url, f"{tag}-a{n}"))[0], f"A{n}")
        callee = await callee_client.create_call_agent((await request_token(url, f"{tag}-b{n}"))[0], f"B{n}")
        call = caller.start_call([callee.identifier])
        calls.append(await (await callee.wait_for_incoming_call(timeout=60)).accept())
        await call.wait_for_state("Connected", timeout=60)
    print("ready", flush=True)
    sys.stdin.readline()  # all workers start measuring together
    present = [0] * pairs
    samples = 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        await asyncio.sleep(0.1)
        samples += 1
        for i, call in enumerate(calls):
            participants = call.remote_participants
            if participants and participants[0].audio_level_dbfs() > PRESENT_DBFS:
                present[i] += 1
    print(json.dumps([p / samples for p in present]), flush=True)
    for client in clients:
        await client.dispose()


def capacity(sizes: list[int], seconds: float = 10.0, processes: int = 4) -> None:
    print(f"## Capacity: 1:1 audio calls through one service, agents in {processes} processes\n")
    print("| calls | mean audio presence | calls with >= 95% | worker CPU (cores) | service CPU (cores) |")
    print("|---:|---:|---:|---:|---:|")
    best = 0
    for size in sizes:
        # every agent comes from 127.0.0.1: lift the per-address caps a class behind one NAT would also lift
        process, url = _serve("--limit", "token_burst=100000", "--limit", "max_connections_per_address=4096")
        workers: list[subprocess.Popen[str]] = []
        try:
            per = [size // processes + (1 if i < size % processes else 0) for i in range(processes)]
            for i, pairs in enumerate(per):
                workers.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker", url, str(pairs), str(seconds), f"w{size}-{i}"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                )
            for w in workers:
                assert w.stdout is not None
                assert w.stdout.readline().strip() == "ready", "a worker could not set up its calls"
            cpu_before = [_cpu_seconds(w.pid) for w in workers], _cpu_seconds(process.pid)
            for w in workers:
                assert w.stdin is not None
                w.stdin.write("go\n")
                w.stdin.flush()
            presence: list[float] = []
            for w in workers:
                assert w.stdout is not None
                presence += json.loads(w.stdout.readline())
            worker_cpu = sum(_cpu_seconds(w.pid) - b for w, b in zip(workers, cpu_before[0], strict=True)) / seconds
            service_cpu = (_cpu_seconds(process.pid) - cpu_before[1]) / seconds
            mean = statistics.mean(presence)
            held = sum(p >= 0.95 for p in presence)
            if mean >= 0.95:
                best = size
            print(
                f"| {size} | {mean:.1%} | {held}/{size} | {worker_cpu:.2f} | {service_cpu:.2f} |",
                flush=True,
            )
            for w in workers:
                w.wait(60)
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
            process.terminate()
            process.wait(10)
    print(f"\nLargest size with audio present >= 95% of the time (mean over calls): {best} calls.\n")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=["fuzz", "flood", "idle", "calls"])
    parser.add_argument("--calls", type=int, nargs="+", default=[24, 48, 72, 100])
    parser.add_argument("--worker", nargs=4, metavar=("URL", "PAIRS", "SECONDS", "TAG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, pairs, seconds, tag = args.worker
        asyncio.run(worker(url, int(pairs), float(seconds), tag))
        return
    logging.basicConfig(level=logging.ERROR)
    if "fuzz" in args.only:
        asyncio.run(fuzz())
    if "flood" in args.only:
        asyncio.run(flood())
    if "idle" in args.only:
        asyncio.run(idle())
    if "calls" in args.only:
        capacity(args.calls)


if __name__ == "__main__":
    main()
