"""The service restarts mid-call: media goes on peer to peer, agents reconnect and rejoin, and call again."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from labkit import CallClient, CallState, ConnectionState, LocalVideoStream, VideoOptions, request_token
from labkit.errors import ErrorCode, LabkitError

from ..helpers import eventually, free_port, serve


async def test_calls_survive_a_service_restart_and_the_agents_call_again(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve(port, tmp_path)
    try:
        alice_token, _ = await request_token(url, "alice")
        bob_token, _ = await request_token(url, "bob")
        async with CallClient(url) as alice_client, CallClient(url) as bob_client:
            alice = await alice_client.create_call_agent(alice_token, "Alice")
            bob = await bob_client.create_call_agent(bob_token, "Bob")
            states: list[str] = []
            alice.on("connection_state_changed", lambda e: states.append(e.value.value))
            cameras = await (await alice_client.get_device_manager()).get_cameras()
            call = alice.start_call([bob.identifier], video_options=VideoOptions([LocalVideoStream(cameras[0])]))
            bob_call = await (await bob.wait_for_incoming_call()).accept(
                video_options=VideoOptions([LocalVideoStream(cameras[1])])
            )
            await call.wait_for_state("Connected")
            to_bob = bob_call.remote_participants[0].video_streams[0]
            to_alice = call.remote_participants[0].video_streams[0]
            await to_bob.next_frame(timeout=10)
            await to_alice.next_frame(timeout=10)

            windows: list[tuple[int, int]] = []
            stop = asyncio.Event()

            async def count() -> None:
                while not stop.is_set():
                    before = (to_bob.frames_received, to_alice.frames_received)
                    await asyncio.sleep(0.5)
                    windows.append((to_bob.frames_received - before[0], to_alice.frames_received - before[1]))

            counter = asyncio.ensure_future(count())
            await asyncio.sleep(1.0)
            service.send_signal(signal.SIGKILL)  # no goodbye at all
            service.wait(10)
            await eventually(lambda: alice.connection_state is ConnectionState.DISCONNECTED, 5.0, "Alice sees it")
            await asyncio.sleep(1.5)  # the service is down for a while
            assert call.state is CallState.CONNECTED
            service = serve(port, tmp_path)  # same port, same signing key (kept in the state dir)
            await eventually(lambda: alice.connection_state is ConnectionState.CONNECTED, 15.0, "Alice reconnected")
            await eventually(lambda: bob.connection_state is ConnectionState.CONNECTED, 15.0, "Bob reconnected")
            await asyncio.sleep(1.0)
            stop.set()
            await counter
            assert len(windows) >= 8, windows
            assert all(b > 0 and a > 0 for b, a in windows), f"frames stopped during the restart: {windows}"
            assert states[:2] == ["Disconnected", "Connected"], states
            assert call.state is CallState.CONNECTED
            assert bob_call.state is CallState.CONNECTED

            # signaling works again for the call that went on: Bob sees Alice mute, and she hangs up
            await call.mute()
            await eventually(lambda: bob_call.remote_participants[0].is_muted, 5.0, "Bob sees Alice muted")
            await call.hang_up()
            await bob_call.wait_for_state("Disconnected", timeout=5)

            # and a new call works with the same agents
            again = bob.start_call([alice.identifier])
            await (await alice.wait_for_incoming_call()).accept()
            await again.wait_for_state("Connected", timeout=10)
            await again.hang_up()
    finally:
        service.terminate()
        service.wait(10)


async def test_during_an_outage_ringing_calls_end_and_hold_waits(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve(port, tmp_path)
    try:
        tokens = [(await request_token(url, name))[0] for name in ("alice", "bob", "carol")]
        async with CallClient(url) as a, CallClient(url) as b, CallClient(url) as c:
            alice = await a.create_call_agent(tokens[0], "Alice")
            bob = await b.create_call_agent(tokens[1], "Bob")
            carol = await c.create_call_agent(tokens[2], "Carol")
            connected = alice.start_call([bob.identifier])
            await (await bob.wait_for_incoming_call()).accept()
            await connected.wait_for_state("Connected")
            ringing = alice.start_call([carol.identifier])  # Carol lets it ring
            await carol.wait_for_incoming_call()
            await ringing.wait_for_state("Ringing")
            service.kill()
            service.wait(10)
            await ringing.wait_for_state("Disconnected", timeout=5)  # it needs the service: it ends
            assert ringing.call_end_reason is not None
            assert (ringing.call_end_reason.code, ringing.call_end_reason.sub_code) == (410, 3100)
            with pytest.raises(LabkitError) as unreachable:
                await connected.hold()
            assert unreachable.value.code is ErrorCode.SERVICE_UNREACHABLE
            assert connected.state is CallState.CONNECTED  # the connected call goes on, not held
            assert not connected.is_on_hold
            await connected.mute()  # local controls still work; the rejoin carries the state
            service = serve(port, tmp_path)
            await eventually(lambda: bob.connection_state is ConnectionState.CONNECTED, 15.0, "Bob reconnected")
            await eventually(lambda: alice.connection_state is ConnectionState.CONNECTED, 15.0, "Alice reconnected")
            await eventually(lambda: bob.calls[0].remote_participants[0].is_muted, 10.0, "Bob sees Alice muted")
            await connected.hold()  # and with the service back, hold works again
            await eventually(lambda: bob.calls[0].state is CallState.REMOTE_HOLD, 10.0, "Bob sees the hold")
    finally:
        service.terminate()
        service.wait(10)
