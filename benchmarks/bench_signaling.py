"""Signaling throughput and latency: N agents signed in at once, invites routed per second.

The service runs as its own process (``labkit serve``); the agents are raw WebSocket
clients in this process, spread over 100 loopback source addresses (127.0.0.2 and up) as
clients from many machines would be. The per-connection invitation limit is raised
(``--limit invitations_per_second=10000``, and the same for messages): this measures the service's routing, not its
protection (``bench_hostile.py`` measures that). Each of N/2 caller/callee pairs loops start-call -> incoming-call
-> reject -> call-ended for ``--seconds``. Latency is start-call sent -> incoming-call
received at the callee, once for a single pair (no load) and once with all pairs at once.

    python benchmarks/bench_signaling.py [--agents 100 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Agent:
    ws: aiohttp.ClientWebSocketResponse
    user_id: str = ""
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def expect(self, kind: str) -> dict[str, Any]:
        message = await asyncio.wait_for(self.inbox.get(), 30)
        if message["type"] != kind:
            raise RuntimeError(f"expected {kind}, got {message}")
        return message

    async def read(self) -> None:
        async for frame in self.ws:
            self.inbox.put_nowait(json.loads(frame.data))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


SOURCES = 100
RAISED_LIMITS = ["--limit", "invitations_per_second=10000", "--limit", "messages_per_second=10000"]


async def sign_in_all(sessions: list[aiohttp.ClientSession], url: str, n: int) -> tuple[list[Agent], list[float]]:
    latencies: list[float] = []

    async def one(i: int) -> Agent:
        http = sessions[i % len(sessions)]
        async with http.post(url + "/api/token", json={"userId": f"bench-{n}-{i}"}) as response:
            token = (await response.json())["token"]
        started = time.perf_counter()
        agent = Agent(await http.ws_connect(url.replace("http", "ws") + "/ws"))
        asyncio.get_running_loop().create_task(agent.read())
        await agent.send(type="sign-in", token=token, displayName=f"bench-{i}")
        agent.user_id = (await agent.expect("signed-in"))["userId"]
        latencies.append(time.perf_counter() - started)
        return agent

    semaphore = asyncio.Semaphore(200)

    async def bounded(i: int) -> Agent:
        async with semaphore:
            return await one(i)

    agents = await asyncio.gather(*(bounded(i) for i in range(n)))
    return list(agents), latencies


async def pair_loop(caller: Agent, callee: Agent, until: float, latencies: list[float]) -> int:
    routed = 0
    while time.perf_counter() < until:
        call_id = str(uuid.uuid4())
        started = time.perf_counter()
        await caller.send(type="start-call", callId=call_id, participants=[callee.user_id])
        await callee.expect("incoming-call")
        latencies.append(time.perf_counter() - started)
        await callee.send(type="reject", callId=call_id)
        await caller.expect("roster")
        await caller.expect("participant-left")
        await caller.expect("call-ended")
        await callee.expect("call-ended")
        routed += 1
    return routed


async def run(url: str, n: int, seconds: float) -> dict[str, float]:
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(f"127.0.0.{2 + k}", 0)))
        for k in range(SOURCES)
    ]
    http = sessions[0]
    try:
        started = time.perf_counter()
        agents, sign_in = await sign_in_all(sessions, url, n)
        sign_in_total = time.perf_counter() - started
        async with http.get(url + "/health") as response:
            health = await response.json()
        assert health["agents"] == n, health
        idle: list[float] = []
        await pair_loop(agents[0], agents[1], time.perf_counter() + 1.0, idle)
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        began = time.perf_counter()
        half = n // 2
        counts = await asyncio.gather(*(pair_loop(agents[i], agents[i + half], until, latencies) for i in range(half)))
        elapsed = time.perf_counter() - began
        for agent in agents:
            await agent.ws.close()
    finally:
        for session in sessions:
            await session.close()
    return {
        "agents": n,
        "sign_in_s": sign_in_total,
        "sign_in_p50_ms": statistics.median(sign_in) * 1000,
        "idle_p50_ms": statistics.median(idle) * 1000,
        "invites": sum(counts),
        "invites_per_s": sum(counts) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    service = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", "0", "--quiet", *RAISED_LIMITS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert service.stdout is not None
        match = re.search(r"(http://\S+)", service.stdout.readline())
        assert match, "labkit serve did not start"
        url = match.group(1)
        print(f"service: labkit serve (separate process) at {url}; {args.seconds:g} s of invites per row\n")
        print(
            "| agents signed in | sign-in of all (s) | sign-in p50 (ms) | one pair: invite p50 (ms) "
            "| all pairs: invites routed/s | invite p50 (ms) | invite p99 (ms) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.agents:
            r = asyncio.run(run(url, n, args.seconds))
            print(
                f"| {r['agents']:,} | {r['sign_in_s']:.2f} | {r['sign_in_p50_ms']:.1f} | {r['idle_p50_ms']:.2f}"
                f" | {r['invites_per_s']:,.0f}"
                f" | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |",
                flush=True,
            )
    finally:
        service.terminate()
        service.wait(10)


if __name__ == "__main__":
    main()
