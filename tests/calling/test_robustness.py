"""Tokens that expire, a calling thread that blocks, and nothing left behind afterwards."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from datetime import timedelta

import pytest
from aiortc import RTCPeerConnection

from labkit import CallClient, CallState, ConnectionState, LocalVideoStream, TokenCredential, TokenError, request_token
from labkit.errors import ErrorCode, LabkitError
from labkit.identity import LocalIdentityClient
from labkit.protocol.signaling_client import list_users
from labkit.service import EmbeddedService

from ..helpers import Factory, engine_threads, eventually, frames_arrive


async def test_an_expired_token_ends_the_call_with_495_4507(
    service: EmbeddedService, identity: LocalIdentityClient, people: Factory
) -> None:
    bob = await people("Bob")
    user = identity.create_user()
    token = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=2))
    async with CallClient(service.url) as client:
        alice = await client.create_call_agent(TokenCredential(token.token), "Alice")
        await asyncio.sleep(2.5)
        call = alice.start_call([bob.agent.identifier])
        await call.wait_for_state("Disconnected")
        assert call.call_end_reason is not None
        assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (495, 4507)
        # and an expired token cannot create an agent at all
        with pytest.raises(TokenError) as refused:
            await client.create_call_agent(TokenCredential(token.token), "Alice")
        assert refused.value.code.value == "token-expired"


async def test_a_credential_with_a_refresher_gets_a_fresh_token(
    service: EmbeddedService, identity: LocalIdentityClient, people: Factory
) -> None:
    bob = await people("Bob")
    user = identity.create_user()
    stale = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=1))
    await asyncio.sleep(1.5)
    refreshed: list[str] = []

    def refresh() -> str:
        refreshed.append("yes")
        return identity.get_token(user, ["voip"]).token

    async with CallClient(service.url) as client:
        alice = await client.create_call_agent(TokenCredential(stale.token, refresh), "Alice")
        assert refreshed == ["yes"]
        call = alice.start_call([bob.agent.identifier])
        await (await bob.agent.wait_for_incoming_call()).accept()
        await call.wait_for_state("Connected")


async def test_refused_tokens_raise_with_the_services_code(service: EmbeddedService) -> None:
    forged = LocalIdentityClient(secret="x" * 40).create_user_and_token(["voip"])[1].token
    async with CallClient(service.url) as client:
        with pytest.raises(TokenError) as refused:
            await client.create_call_agent(forged, "Mallory")
        assert refused.value.code.value == "token-invalid-signature"


async def test_a_blocked_calling_thread_does_not_stall_media(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera())
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera())
    await call.wait_for_state("Connected")
    to_alice = call.remote_participants[0].video_streams[0]
    to_bob = bob_call.remote_participants[0].video_streams[0]
    await to_alice.next_frame()
    await to_bob.next_frame()
    before = (to_alice.frames_received, to_bob.frames_received)
    time.sleep(3)  # a notebook cell busy for 3 s: this thread and its event loop are blocked  # noqa: ASYNC251
    after = (to_alice.frames_received, to_bob.frames_received)
    # 3 s at 30 fps is 90 frames; both directions kept flowing while we were blocked
    assert after[0] - before[0] >= 60, (before, after)
    assert after[1] - before[1] >= 60, (before, after)
    await frames_arrive(to_alice, 20, within=5, what="Bob's video after the block")  # and no stall afterwards


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def _peer_connections() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, RTCPeerConnection))


async def test_nothing_is_left_after_hang_up_and_dispose(service: EmbeddedService) -> None:
    sockets_before = _open_sockets()
    assert _peer_connections() == 0
    clients = [CallClient(service.url), CallClient(service.url)]
    alice = await clients[0].create_call_agent((await request_token(service.url, "alice"))[0], "Alice")
    bob = await clients[1].create_call_agent((await request_token(service.url, "bob"))[0], "Bob")
    cameras = await (await clients[0].get_device_manager()).get_cameras()
    call = alice.start_call([bob.identifier], video_options=LocalVideoStream(cameras[0]))
    bob_call = await (await bob.wait_for_incoming_call()).accept()
    await call.wait_for_state("Connected")
    await bob_call.remote_participants[0].video_streams[0].next_frame()
    assert _peer_connections() == 2
    assert _open_sockets() > sockets_before
    assert len(engine_threads()) == 1
    await call.hang_up()
    await bob_call.wait_for_state(CallState.DISCONNECTED)
    for client in clients:
        await client.dispose()
    assert engine_threads() == []
    await eventually(lambda: _peer_connections() == 0, what="peer connections collected")
    await eventually(lambda: _open_sockets() <= sockets_before, what="sockets closed")
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and "labkit" in t.get_name()]
    assert leftover == []


@pytest.mark.parametrize(
    ("participant", "says"),
    [
        ({"communicationUserId": 5}, "not int"),
        ("8:acs:" + "x" * 300, "at most 256 characters"),
        ({"name": "bob"}, "Cannot tell the user id"),
        ("", "non-empty string"),
        ("8:acs:\ud800", "lone surrogate"),
    ],
)
async def test_a_bad_participant_raises_at_once_and_starts_no_call(
    people: Factory, participant: object, says: str
) -> None:
    alice = await people("Alice")
    with pytest.raises(LabkitError) as refused:
        alice.agent.start_call(participant)  # type: ignore[arg-type]
    assert refused.value.code is ErrorCode.INVALID_ARGUMENT
    assert says in refused.value.message
    assert alice.agent.calls == ()


async def test_bad_ring_timeouts_and_display_names_raise_labkit_errors(
    service: EmbeddedService, people: Factory
) -> None:
    alice = await people("Alice")
    with pytest.raises(LabkitError, match="ring_timeout") as refused:
        alice.agent.ring_timeout = 1000
    assert refused.value.code is ErrorCode.INVALID_ARGUMENT
    assert alice.agent.ring_timeout == 30.0
    token, _ = await request_token(service.url, "longname")
    async with CallClient(service.url) as client:
        with pytest.raises(LabkitError, match="at most 256 characters") as too_long:
            await client.create_call_agent(token, "x" * 10_000)
        assert too_long.value.code is ErrorCode.INVALID_ARGUMENT
        with pytest.raises(LabkitError, match="ring_timeout"):
            await client.create_call_agent(token, "Long", ring_timeout=0)


@pytest.mark.parametrize(("action", "code"), [("revoke_tokens", "token-revoked"), ("delete_user", "user-deleted")])
async def test_revoking_or_deleting_a_user_ends_its_live_session_and_calls_at_once(
    service: EmbeddedService, identity: LocalIdentityClient, people: Factory, action: str, code: str
) -> None:
    bob = await people("Bob")
    user, token = identity.create_user_and_token(["voip"])
    async with CallClient(service.url) as client:
        alice = await client.create_call_agent(token.token, "Alice")
        call = alice.start_call([bob.agent.identifier])
        bob_call = await (await bob.agent.wait_for_incoming_call()).accept()
        await call.wait_for_state("Connected")
        getattr(identity, action)(user)
        await call.wait_for_state("Disconnected", timeout=2)
        assert call.call_end_reason is not None
        assert (call.call_end_reason.code, call.call_end_reason.sub_code) == (495, 4507)
        assert code in call.call_end_reason.message
        await bob_call.wait_for_state("Disconnected", timeout=2)  # Bob is told that Alice left
        await eventually(lambda: alice.connection_state is ConnectionState.DISCONNECTED, 2.0, "Alice signed out")
        users = {u["userId"]: u["online"] for u in await list_users(service.url)}
        assert not users.get(user.id, False)
        with pytest.raises(TokenError) as refused:  # and her token no longer signs in
            await client.create_call_agent(token.token, "Alice")
        assert refused.value.code.value == code
