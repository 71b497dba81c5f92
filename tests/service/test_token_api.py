from __future__ import annotations

import asyncio

import aiohttp
import jwt
import pytest

from labkit.errors import LabkitError
from labkit.identity import LocalIdentityClient, TokenScope
from labkit.service import EmbeddedService


async def post_token(service: EmbeddedService, body: object, *, raw: bytes | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as http:
        kwargs = {"data": raw, "headers": {"Content-Type": "application/json"}} if raw is not None else {"json": body}
        async with http.post(service.url + "/api/token", **kwargs) as response:
            return response.status, await response.json()


async def test_token_endpoint_follows_the_seed_contract(
    service: EmbeddedService, identity: LocalIdentityClient
) -> None:
    status, body = await post_token(service, {"userId": "alice"})
    assert status == 200
    assert set(body) == {"token", "userId", "nameSecret"}  # the ACS guide's two, and the name's secret
    claims = identity.verify_token(body["token"])
    assert claims.user.id == body["userId"]
    assert claims.scopes == (TokenScope.VOIP,)
    assert jwt.decode(body["token"], options={"verify_signature": False})["acsScope"] == "voip"


async def test_same_user_id_gets_the_same_identity_and_a_fresh_token(service: EmbeddedService) -> None:
    _, first = await post_token(service, {"userId": "alice"})
    _, other = await post_token(service, {"userId": "bob"})
    import asyncio

    await asyncio.sleep(1.05)  # iat has one-second resolution
    _, second = await post_token(service, {"userId": "alice", "nameSecret": first["nameSecret"]})
    assert second["userId"] == first["userId"]
    assert second["token"] != first["token"]
    assert other["userId"] != first["userId"]


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({}, None),
        ({"userId": ""}, None),
        ({"userId": "   "}, None),
        ({"userId": 42}, None),
        ({"userId": None}, None),
        (["alice"], None),
        (None, b"{not json"),
        ({"userId": "x" * 300}, None),
    ],
)
async def test_bad_token_requests_get_a_400_with_a_json_error(
    service: EmbeddedService, body: object, raw: bytes | None
) -> None:
    status, reply = await post_token(service, body, raw=raw)
    assert status == 400
    assert reply["error"]["code"] == "bad-request"
    assert "userId" in reply["error"]["message"] or "JSON" in reply["error"]["message"]


async def test_health_reports_version_agents_and_calls(service: EmbeddedService) -> None:
    from labkit import __version__

    from ..agent_socket import AgentSocket, new_call_id

    async with aiohttp.ClientSession() as http:
        async with http.get(service.url + "/health") as response:
            assert await response.json() == {
                "status": "ok",
                "version": __version__,
                "agents": 0,
                "calls": 0,
                "accessCodeRequired": False,
            }
        a = await AgentSocket.signed_in(service.url, "a")
        b = await AgentSocket.signed_in(service.url, "b")
        await a.send(type="start-call", callId=new_call_id(), participants=[b.user_id])
        await a.expect("roster")
        async with http.get(service.url + "/health") as response:
            health = await response.json()
        assert (health["agents"], health["calls"]) == (2, 1)
        await a.close()
        await b.close()


async def test_users_lists_who_can_be_called(service: EmbeddedService) -> None:
    from labkit.protocol.signaling_client import list_users

    from ..agent_socket import AgentSocket

    await post_token(service, {"userId": "carol"})
    alice = await AgentSocket.signed_in(service.url, "alice")
    users = {u["name"]: u for u in await list_users(service.url)}
    assert users["alice"]["online"] is True
    assert users["alice"]["userId"] == alice.user_id
    assert users["alice"]["displayName"] == "alice"
    assert users["carol"]["online"] is False
    await alice.close()


async def test_a_name_in_use_cannot_be_taken_over(service: EmbeddedService) -> None:
    from ..agent_socket import AgentSocket

    alice = await AgentSocket.signed_in(service.url, "alice")
    started = asyncio.get_running_loop().time()
    status, reply = await post_token(service, {"userId": "alice"})  # a stranger, without alice's secret
    assert status == 409
    assert reply["error"]["code"] == "name-taken"
    assert "nameSecret" in reply["error"]["hint"]
    status, reply = await post_token(service, {"userId": "alice", "nameSecret": "guess"})
    assert status == 409
    assert asyncio.get_running_loop().time() - started < 1
    await alice.send(type="ping", ref="still")  # the real alice was not signed out
    assert (await alice.expect("pong"))["ref"] == "still"
    await alice.close()


async def test_a_name_nobody_uses_any_more_can_be_claimed_anew(identity: LocalIdentityClient) -> None:
    from labkit.service.token_directory import TokenDirectory

    now = [0.0]
    directory = TokenDirectory(identity, hold_seconds=60, clock=lambda: now[0])
    _, user_id, secret = await directory.token_for("alice")
    now[0] = 59
    with pytest.raises(LabkitError, match="in use"):
        await directory.token_for("alice")
    assert (await directory.token_for("alice", secret))[1] == user_id  # the holder keeps it
    now[0] = 59 + 61
    _, new_user, new_secret = await directory.token_for("alice")  # unused for longer than the hold
    assert new_user != user_id
    assert new_secret != secret


async def test_tokens_are_rate_limited_per_address() -> None:
    from labkit.service import start_service

    svc = start_service()  # the default limits
    try:
        statuses = []
        async with aiohttp.ClientSession() as http:
            for n in range(70):
                async with http.post(svc.url + "/api/token", json={"userId": f"u{n}"}) as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        assert int(response.headers["Retry-After"]) >= 1
                        assert (await response.json())["error"]["code"] == "rate-limited"
        assert statuses[:60] == [200] * 60
        assert set(statuses[60:]) == {429}
    finally:
        svc.stop()


async def test_an_access_code_guards_tokens_and_the_user_list() -> None:
    from labkit.errors import ErrorCode
    from labkit.protocol.signaling_client import list_users, request_token
    from labkit.service import start_service

    svc = start_service(access_code="blue-42")
    try:
        status, reply = await post_token(svc, {"userId": "eve"})
        assert status == 403
        assert reply["error"]["code"] == "access-denied"
        status, _ = await post_token(svc, {"userId": "eve", "accessCode": "red"})
        assert status == 403
        with pytest.raises(LabkitError) as denied:
            await list_users(svc.url)
        assert denied.value.code is ErrorCode.ACCESS_DENIED
        token, user_id = await request_token(svc.url, "ann", access_code="blue-42")
        assert token
        assert [u["userId"] for u in await list_users(svc.url, access_code="blue-42")] == [user_id]
        async with aiohttp.ClientSession() as http, http.get(svc.url + "/health") as response:
            assert (await response.json())["accessCodeRequired"] is True
    finally:
        svc.stop()


def test_off_loopback_the_service_needs_an_access_code_or_open() -> None:
    from labkit.cli import main
    from labkit.service import Server

    with pytest.raises(ValueError, match="access code"):
        Server("0.0.0.0")
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    Server("0.0.0.0", access_code="x")  # constructing binds nothing
    Server("0.0.0.0", open_to_all=True)
