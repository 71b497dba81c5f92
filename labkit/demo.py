"""``labkit demo``: the service, two agents and a call routed between them, narrated."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp

from .service import start_service
from .service.client import SignalingClient, request_token
from .service.protocol import Accept, HangUp, Message, Ringing, SessionDescription, Signal, StartCall


async def run_demo(endpoint: str | None = None) -> int:
    """Sign in Alice and Bob, route a call and a hang-up, and print the timeline."""
    service = None if endpoint else start_service()
    base = endpoint or (service.url if service else "")
    t0 = time.monotonic()

    def say(who: str, text: str) -> None:
        print(f"{time.monotonic() - t0:7.3f}s  {who:<7} {text}", flush=True)

    inbox: dict[str, asyncio.Queue[Message]] = {"Alice": asyncio.Queue(), "Bob": asyncio.Queue()}

    async def next_message(who: str) -> Message:
        message = await asyncio.wait_for(inbox[who].get(), 10)
        say(who, f"<- {message.type}")  # type: ignore[attr-defined]
        return message

    try:
        say("service", f"{base}  (health, tokens at /api/token, agents at /ws)")
        alice_token, alice_id = await request_token(base, "alice")
        bob_token, bob_id = await request_token(base, "bob")
        say("Alice", f"token for {alice_id}")
        say("Bob", f"token for {bob_id}")
        alice = SignalingClient(base, on_message=inbox["Alice"].put_nowait)
        bob = SignalingClient(base, on_message=inbox["Bob"].put_nowait)
        say("Alice", f"signed in as {(await alice.connect(alice_token, 'Alice')).display_name}")
        say("Bob", f"signed in as {(await bob.connect(bob_token, 'Bob')).display_name}")

        call_id = str(uuid.uuid4())
        roster = await alice.request(StartCall(call_id=call_id, participants=[bob_id], video=True))
        say("Alice", f"-> start-call {call_id[:8]}, roster: {[p.display_name for p in roster.participants]}")  # type: ignore[attr-defined]
        await next_message("Bob")
        await bob.send(Ringing(call_id=call_id))
        await next_message("Alice")
        await bob.request(Accept(call_id=call_id, video=True))
        say("Bob", "-> accept (roster received: Bob now offers to Alice)")
        await next_message("Alice")
        await bob.send(Signal(call_id=call_id, to=alice_id, payload=SessionDescription(kind="offer", sdp="v=0\r\n")))
        await next_message("Alice")
        await alice.send(HangUp(call_id=call_id))
        await next_message("Alice")
        await next_message("Bob")
        await next_message("Bob")
        async with aiohttp.ClientSession() as http, http.get(f"{base}/health") as response:
            say("service", f"health: {await response.json()}")
        await alice.close()
        await bob.close()
        say("demo", "done")
        return 0
    finally:
        if service is not None:
            service.stop()
