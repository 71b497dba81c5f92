"""The Azure mode: the real azure-communication-identity client against the local REST stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from azure.core.exceptions import ClientAuthenticationError

from labkit.errors import ErrorCode, TokenError
from labkit.identity import TokenScope, create_identity_client
from labkit.identity.azure_client import AzureIdentityClient
from labkit.service import start_service

from ..acs_identity_standin import IdentityStandIn
from ..agent_socket import AgentSocket


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[IdentityStandIn]:
    server = IdentityStandIn(tmp_path).start()
    yield server
    server.stop()


def test_azure_client_creates_users_and_tokens_through_the_rest_api(standin: IdentityStandIn) -> None:
    client = AzureIdentityClient(standin.connection_string(), connection_verify=str(standin.cert_path))
    user = client.create_user()
    assert user.id in standin.identities
    user2, token = client.create_user_and_token(["voip"], token_expires_in=timedelta(hours=1))
    assert user2.id in standin.identities
    assert client.verify_token(token.token).scopes == (TokenScope.VOIP,)
    fresh = client.get_token(user2, [TokenScope.VOIP_JOIN])
    assert client.verify_token(fresh.token).user == user2
    assert [(m, s) for m, _, s in standin.requests] == [("POST", 201), ("POST", 201), ("POST", 200)]
    assert all("api-version=" in path for _, path, _ in standin.requests)


def test_azure_revoke_and_delete_reach_the_service_and_refuse_tokens(standin: IdentityStandIn) -> None:
    client = AzureIdentityClient(standin.connection_string(), connection_verify=str(standin.cert_path))
    user, token = client.create_user_and_token(["voip"])
    client.revoke_tokens(user)
    assert standin.identities[user.id] == 1
    with pytest.raises(TokenError):
        client.verify_token(token.token)
    again = client.get_token(user, ["voip"])
    client.delete_user(user)
    assert user.id not in standin.identities
    assert not client.user_exists(user.id)
    with pytest.raises(TokenError):
        client.verify_token(again.token)


def test_a_wrong_access_key_gets_401(standin: IdentityStandIn) -> None:
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="
    client = AzureIdentityClient(standin.connection_string(wrong), connection_verify=str(standin.cert_path))
    with pytest.raises(ClientAuthenticationError) as caught:
        client.create_user()
    assert caught.value.status_code == 401
    assert standin.requests[-1][2] == 401
    assert not standin.identities


def test_bad_connection_strings_are_explained() -> None:
    with pytest.raises(ValueError, match="no endpoint"):
        AzureIdentityClient("accesskey=abc")
    with pytest.raises(ValueError, match="no accesskey"):
        AzureIdentityClient("endpoint=https://x.communication.azure.com/")


async def test_the_service_in_azure_mode_issues_tokens_and_admits_agents(standin: IdentityStandIn) -> None:
    client = create_identity_client(standin.connection_string())
    assert isinstance(client, AzureIdentityClient)
    client = AzureIdentityClient(standin.connection_string(), connection_verify=str(standin.cert_path))
    service = start_service(identity=client)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(service.url + "/api/token", json={"userId": "alice"}) as response,
        ):
            assert response.status == 200
            body = await response.json()
        assert body["userId"] in standin.identities
        agent = await AgentSocket.signed_in(service.url, "alice", token=body["token"])
        assert agent.user_id == body["userId"]
        await agent.close()
        stranger = await AgentSocket.open(service.url, "stranger")
        await stranger.send(type="sign-in", token=standin.issue("8:acs:x_y", ["voip"], None)["token"])
        await stranger.expect_error(ErrorCode.TOKEN_INVALID_SIGNATURE.value)
        await stranger.close()
    finally:
        service.stop()


async def test_the_token_endpoint_reports_a_failing_identity_backend(standin: IdentityStandIn) -> None:
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="
    client = AzureIdentityClient(standin.connection_string(wrong), connection_verify=str(standin.cert_path))
    service = start_service(identity=client)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(service.url + "/api/token", json={"userId": "alice"}) as response:
                assert response.status == 502
                error = (await response.json())["error"]
            assert error["code"] == "identity-unavailable"
            assert "401" in error["message"] or "Denied" in error["message"]
            async with http.get(service.url + "/health") as response:
                assert (await response.json())["status"] == "ok"
    finally:
        service.stop()
