"""STUN and TURN servers from the service: credentials that expire, checked by a real coturn."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit import CallClient, RelayConfiguration, request_token
from labkit.cli import main as labkit_main
from labkit.identity import LocalIdentityClient
from labkit.protocol.messages import IceServer
from labkit.service import EmbeddedService, start_service

from ..helpers import Factory, eventually, frames_arrive
from ..turn_server import relayed, turn_server

SECRET = secrets.token_hex(16)


def test_turn_credentials_are_signed_and_expire() -> None:
    relay = RelayConfiguration(("stun:127.0.0.1:3478", "turn:127.0.0.1:3478"), "s3cret", ttl=600)
    stun, turn = relay.ice_servers("8:acs:alice", now=1_000_000)
    assert stun == IceServer(urls=["stun:127.0.0.1:3478"])
    assert turn.urls == ["turn:127.0.0.1:3478"]
    assert turn.username == "1000600:8:acs:alice"  # <expiry>:<user id>, coturn's REST API
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:8:acs:alice", hashlib.sha1).digest()).decode()
    assert turn.credential == expected
    assert RelayConfiguration().ice_servers("8:acs:alice") == []  # none unless configured


@pytest.mark.parametrize(
    ("urls", "secret", "policy", "message"),
    [
        (("http://example.org",), None, "all", "is not an ICE server URL"),
        (("turn:127.0.0.1:3478",), None, "all", "needs a shared secret"),
        (("stun:127.0.0.1:3478",), None, "relay", "the relay policy needs a turn"),
    ],
)
def test_a_bad_relay_configuration_is_refused_clearly(
    urls: tuple[str, ...], secret: str | None, policy: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RelayConfiguration(urls, secret, transport_policy=policy)


def test_labkit_serve_refuses_a_turn_server_without_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert labkit_main(["serve", "--port", "0", "--ice-server", "turn:127.0.0.1:3478"]) == 2
    assert "needs a shared secret" in capsys.readouterr().err


@pytest.fixture
def turn_url(tmp_path: Path) -> Iterator[str]:
    with turn_server(SECRET, tmp_path) as url:
        yield url


@pytest.fixture
def service(identity: LocalIdentityClient, turn_url: str) -> Iterator[EmbeddedService]:
    """The test's service hands out the TURN server and makes every call go through it."""
    relay = RelayConfiguration((turn_url,), SECRET, transport_policy="relay")
    svc = start_service(identity=identity, relay=relay)
    yield svc
    svc.stop()


async def test_a_call_through_a_real_turn_server(people: Factory) -> None:
    alice, bob = await people("Alice"), await people("Bob")
    configuration = alice.agent.rtc_configuration
    assert configuration.iceTransportPolicy.value == "relay"
    (server,) = configuration.iceServers or []
    assert server.username is not None
    assert server.username.endswith(alice.agent.user_id)
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=await bob.camera(2))
    await call.wait_for_state("Connected", 15)
    # only relayed candidates were gathered, and the media goes through coturn both ways
    pc = call.peer_connection(call.remote_participants[0])
    assert pc is not None
    assert "typ relay" in pc.localDescription.sdp
    assert "typ host" not in pc.localDescription.sdp
    await eventually(
        lambda: relayed(call) == [("relay", True)] and relayed(bob_call) == [("relay", True)], what="relayed pairs"
    )
    to_bob = bob_call.remote_participants[0].video_streams[0]
    to_alice = call.remote_participants[0].video_streams[0]
    await to_bob.next_frame()
    await to_alice.next_frame()
    await frames_arrive(to_bob, 20)
    await frames_arrive(to_alice, 20)
    await eventually(lambda: bob.speaker_level() > -30, what="Alice's tone at Bob's, relayed")
    await call.hang_up()


async def test_a_call_with_no_network_path_ends_with_what_to_do(turn_url: str) -> None:
    """The service signs TURN credentials with the wrong secret: coturn refuses them, so there
    is no relayed path, and under the relay policy no other. The call ends instead of hanging."""
    relay = RelayConfiguration((turn_url,), "not coturn's secret", transport_policy="relay")
    service = start_service(relay=relay)
    clients = [CallClient(service.url), CallClient(service.url)]
    try:
        alice = await clients[0].create_call_agent((await request_token(service.url, "alice"))[0], "Alice")
        bob = await clients[1].create_call_agent((await request_token(service.url, "bob"))[0], "Bob")
        call = alice.start_call([bob.identifier])
        bob_call = await (await bob.wait_for_incoming_call()).accept()
        # Bob offers (the mesh rule), so he is the first to find he has no address to offer
        await bob_call.wait_for_state("Disconnected", 60)
        reason = bob_call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code) == (410, 3100)
        assert "No network path to Alice" in reason.message
        assert "--ice-server" in reason.message  # and what to do about it
        await call.wait_for_state("Disconnected", 10)  # Alice's side ends too
    finally:
        for client in clients:
            await client.dispose()
        service.stop()
