"""Floods: only the flooder is slowed down; the users it aims at, and everyone else, carry on."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest

from labkit import CallState, ConnectionState, VideoOptions
from labkit.service import EmbeddedService, ServiceLimits, start_service

from ..agent_socket import AgentSocket, new_call_id
from ..helpers import Factory, frames_during
from ..hostile_clients import Drain, Flood

LIMITS = ServiceLimits()


def rings_and_hang_ups(user_id: str, count: int) -> list[str]:
    frames = []
    for _ in range(count):
        call_id = new_call_id()
        frames.append(json.dumps({"type": "start-call", "callId": call_id, "participants": [user_id]}))
        frames.append(json.dumps({"type": "hang-up", "callId": call_id}))
    return frames


async def test_a_ring_flood_aimed_at_one_user_leaves_that_user_and_their_call_alone(
    service: EmbeddedService, people: Factory
) -> None:
    bob, carol = await people("Bob"), await people("Carol")
    call = bob.agent.start_call([carol.agent.identifier], video_options=VideoOptions([await bob.camera(1)]))
    carol_call = await (await carol.agent.wait_for_incoming_call()).accept(
        video_options=VideoOptions([await carol.camera(2)])
    )
    await call.wait_for_state("Connected")
    rings: list[object] = []
    bob.agent.on("incoming_call", rings.append)

    mallory = await AgentSocket.signed_in(service.url, "Mallory")
    drain = Drain(mallory)
    started = time.monotonic()
    flood = Flood(mallory, rings_and_hang_ups(bob.agent.user_id, 1500))
    try:
        frames = [await frames_during(call.remote_participants[0].video_streams[0], 1.0) for _ in range(4)]
        elapsed = time.monotonic() - started
        assert bob.agent.connection_state is ConnectionState.CONNECTED
        assert call.state is CallState.CONNECTED
        assert carol_call.state is CallState.CONNECTED
        assert min(frames) >= 10, f"Bob's video from Carol stalled during the flood: {frames} frames/s"
        # the flooder was slowed to its invitation rate, and told so once
        allowed = LIMITS.invitation_burst + LIMITS.invitations_per_second * elapsed + 2
        assert 10 < len(rings) <= allowed, (len(rings), allowed)
        assert [e["code"] for e in drain.errors if e["code"] == "rate-limited"][:1] == ["rate-limited"]
        assert drain.is_open  # throttled, not cut off
    finally:
        await flood.stop()
        await drain.stop()
        await mallory.close()
    await call.hang_up()


async def test_an_update_flood_in_a_group_slows_the_flooder_and_closes_nobody(service: EmbeddedService) -> None:
    group = new_call_id()
    members = [await AgentSocket.signed_in(service.url, name) for name in ("Ann", "Ben", "Cy", "Flooder")]
    for member in members:
        await member.send(type="join", groupId=group, video=False)
        await member.expect("roster")
    drains = [Drain(m) for m in members]
    frame = json.dumps({"type": "update-state", "callId": group, "isMuted": True})
    flood = Flood(members[-1], [frame] * 3000)
    try:
        await asyncio.sleep(3.0)
        assert all(d.is_open for d in drains), [d.closed_with for d in drains]
        updates = [d.counts["participant-updated"] for d in drains[:3]]
        allowed = LIMITS.message_burst + LIMITS.messages_per_second * 3.2
        assert all(50 < n <= allowed for n in updates), (updates, allowed)  # each got the updates, at the rate
        await members[0].ws.send_str(json.dumps({"type": "ping", "ref": "alive"}))
        await asyncio.sleep(0.2)
        assert drains[0].counts["pong"] == 1  # the others are answered at once
    finally:
        await flood.stop()
        for drain, member in zip(drains, members, strict=True):
            await drain.stop()
            await member.close()


async def test_an_honest_client_may_pipeline_hundreds_of_requests(alice: AgentSocket) -> None:
    for n in range(400):
        await alice.send(type="ping", ref=f"p{n}")
    refs: list[str] = []
    while len(refs) < 400:
        message = await alice.recv(timeout=10)
        if message["type"] == "pong":
            refs.append(message["ref"])
        else:
            assert message["code"] == "rate-limited", message
    assert refs == [f"p{n}" for n in range(400)]  # every one answered, in order, none dropped
    assert not alice.ws.closed


async def test_a_reader_that_stops_reading_is_cut_off_alone_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "labkit.service")
    svc = start_service(limits=ServiceLimits(outbox_messages=8, message_burst=10_000, messages_per_second=10_000))
    try:
        sleeper, talker, other = [await AgentSocket.signed_in(svc.url, n) for n in ("Sleeper", "Talker", "Other")]
        call_id = new_call_id()
        await talker.send(type="start-call", callId=call_id, participants=[sleeper.user_id])
        await talker.expect("roster")
        await sleeper.expect("incoming-call")
        await sleeper.send(type="accept", callId=call_id, video=False)
        await sleeper.expect("roster")
        await talker.expect("participant-updated")
        # the sleeper stops reading (like a frozen process); the talker sends it big signals until the service
        # gives up on it. aiohttp's client has no public way to stop reading: pause its transport.
        sleeper.ws._conn.transport.pause_reading()  # type: ignore[union-attr]  # noqa: SLF001
        offer = {"kind": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 6000}
        talker_drain = Drain(talker)
        for n in range(2000):  # up to 120 MB: more than loopback's socket buffers hold (32 MB here)
            await talker.send(type="signal", callId=call_id, to=sleeper.user_id, payload=offer)
            if n % 50 == 49 and sleeper.user_id not in await _online(svc):
                break
        await _eventually_offline(svc, sleeper.user_id)
        warnings = [r for r in caplog.records if "messages behind" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert talker_drain.is_open  # only the one that did not read is gone
        await other.send(type="ping", ref="ok")
        assert (await other.expect("pong"))["ref"] == "ok"
        await talker_drain.stop()
        for agent in (sleeper, talker, other):
            await agent.close()
    finally:
        svc.stop()


async def _online(svc: EmbeddedService) -> set[str]:
    async with aiohttp.ClientSession() as http, http.get(svc.url + "/api/users") as response:
        return {u["userId"] for u in await response.json() if u["online"]}


async def _eventually_offline(svc: EmbeddedService, user_id: str) -> None:
    for _ in range(100):
        if user_id not in await _online(svc):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{user_id} stayed online although it read nothing")
