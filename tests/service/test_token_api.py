from __future__ import annotations

import aiohttp
import jwt
import pytest

from labkit.identity import LocalIdentityClient, TokenScope
from labkit.service import EmbeddedService


async def post_token(service: EmbeddedService, body: object, *, raw: bytes | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as http:
        kwargs = {"data": raw, "headers": {"Content-Type": "application/json"}} if raw is not None else {"json": body}
        async with http.post(service.url + "/api/token", **kwargs) as response:  # type: ignore[arg-type]
            return response.status, await response.json()


async def test_token_endpoint_follows_the_seed_contract(
    service: EmbeddedService, identity: LocalIdentityClient
) -> None:
    status, body = await post_token(service, {"userId": "alice"})
    assert status == 200
    assert set(body) == {"token", "userId"}
    claims = identity.verify_token(body["token"])
    assert claims.user.id == body["userId"]
    assert claims.scopes == (TokenScope.VOIP,)
    assert jwt.decode(body["token"], options={"verify_signature": False})["acsScope"] == "voip"


async def test_same_user_id_gets_the_same_identity_and_a_fresh_token(service: EmbeddedService) -> None:
    _, first = await post_token(service, {"userId": "alice"})
    _, other = await post_token(service, {"userId": "bob"})
    import asyncio

    await asyncio.sleep(1.05)  # iat has one-second resolution
    _, second = await post_token(service, {"userId": "alice"})
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
            assert await response.json() == {"status": "ok", "version": __version__, "agents": 0, "calls": 0}
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
    from labkit.service.client import list_users

    from ..agent_socket import AgentSocket

    await post_token(service, {"userId": "carol"})
    alice = await AgentSocket.signed_in(service.url, "alice")
    users = {u["name"]: u for u in await list_users(service.url)}
    assert users["alice"]["online"] is True
    assert users["alice"]["userId"] == alice.user_id
    assert users["alice"]["displayName"] == "alice"
    assert users["carol"]["online"] is False
    await alice.close()
