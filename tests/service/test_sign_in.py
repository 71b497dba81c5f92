"""Every way a sign-in can be refused, each with its own code; and what a voip.join token may do."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest

from labkit.identity import LocalIdentityClient
from labkit.protocol.messages import CLOSE_REFUSED
from labkit.service import EmbeddedService, signaling

from ..agent_socket import AgentSocket, new_call_id


async def refused(service: EmbeddedService, token: str, code: str) -> None:
    agent = await AgentSocket.open(service.url)
    await agent.send(type="sign-in", token=token, displayName="x")
    await agent.expect_error(code)
    frame = await agent.ws.receive(timeout=5)
    assert frame.type is aiohttp.WSMsgType.CLOSE
    assert agent.ws.close_code == CLOSE_REFUSED
    await agent.close()


async def test_sign_in_with_a_voip_token(service: EmbeddedService, identity: LocalIdentityClient) -> None:
    user, token = identity.create_user_and_token(["voip"])
    agent = await AgentSocket.open(service.url)
    await agent.send(type="sign-in", token=token.token, displayName="Alice", ref="s1")
    reply = await agent.expect("signed-in")
    assert reply["userId"] == user.id
    assert reply["displayName"] == "Alice"
    assert reply["ref"] == "s1"
    assert reply["scopes"] == ["voip"]
    assert reply["protocolVersion"] == 1
    await agent.send(type="sign-in", token=token.token)
    await agent.expect_error("already-signed-in")
    await agent.close()


async def test_forged_token_is_refused(service: EmbeddedService) -> None:
    _, forged = LocalIdentityClient(secret="f" * 40).create_user_and_token(["voip"])
    await refused(service, forged.token, "token-invalid-signature")


async def test_malformed_and_missing_tokens_are_refused(service: EmbeddedService) -> None:
    await refused(service, "garbage", "token-malformed")
    await refused(service, "", "token-missing")


async def test_expired_token_is_refused(service: EmbeddedService, identity: LocalIdentityClient) -> None:
    user = identity.create_user()
    token = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=1))
    await asyncio.sleep(2.1)
    await refused(service, token.token, "token-expired")


async def test_revoked_token_is_refused(service: EmbeddedService, identity: LocalIdentityClient) -> None:
    user, token = identity.create_user_and_token(["voip"])
    identity.revoke_tokens(user)
    await refused(service, token.token, "token-revoked")


async def test_deleted_user_is_refused(service: EmbeddedService, identity: LocalIdentityClient) -> None:
    user, token = identity.create_user_and_token(["voip"])
    identity.delete_user(user)
    await refused(service, token.token, "user-deleted")


async def test_token_without_a_calling_scope_is_refused(
    service: EmbeddedService, identity: LocalIdentityClient
) -> None:
    _, token = identity.create_user_and_token(["chat"])
    await refused(service, token.token, "token-scope-insufficient")


async def test_wrong_protocol_version_is_refused(service: EmbeddedService, identity: LocalIdentityClient) -> None:
    _, token = identity.create_user_and_token(["voip"])
    agent = await AgentSocket.open(service.url)
    await agent.send(type="sign-in", token=token.token, protocolVersion=99)
    await agent.expect_error("protocol-version-unsupported")
    await agent.close()


async def test_messages_before_sign_in_are_refused_but_sign_in_still_works(
    service: EmbeddedService, identity: LocalIdentityClient
) -> None:
    _, token = identity.create_user_and_token(["voip"])
    agent = await AgentSocket.open(service.url)
    await agent.send(type="ping", ref="p")
    assert (await agent.expect_error("not-signed-in"))["ref"] == "p"
    await agent.send(type="sign-in", token=token.token)
    await agent.expect("signed-in")
    await agent.close()


async def test_no_sign_in_in_time_closes_the_connection(
    service: EmbeddedService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signaling, "SIGN_IN_TIMEOUT", 0.5)
    agent = await AgentSocket.open(service.url)
    await agent.expect_error("sign-in-timeout", timeout=3)
    await agent.close()


async def test_voip_join_token_may_join_a_group_but_not_start_calls(
    service: EmbeddedService, identity: LocalIdentityClient, bob: AgentSocket
) -> None:
    _, token = identity.create_user_and_token(["voip.join"])
    guest = await AgentSocket.signed_in(service.url, "Guest", token=token.token)
    await guest.send(type="start-call", callId=new_call_id(), participants=[bob.user_id], ref="c")
    error = await guest.expect_error("token-scope-insufficient")
    assert error["ref"] == "c"
    assert "voip.join" in error["message"]
    group = new_call_id()
    await guest.send(type="join", groupId=group)
    roster = await guest.expect("roster")
    assert [p["userId"] for p in roster["participants"]] == [guest.user_id]
    await bob.nothing_for()
    await guest.close()


async def test_signing_in_again_replaces_the_old_connection(
    service: EmbeddedService, identity: LocalIdentityClient
) -> None:
    _, token = identity.create_user_and_token(["voip"])
    first = await AgentSocket.signed_in(service.url, "A", token=token.token)
    second = await AgentSocket.signed_in(service.url, "A", token=token.token)
    await first.expect_error("signed-in-elsewhere")
    frame = await first.ws.receive(timeout=5)
    assert frame.type is aiohttp.WSMsgType.CLOSE
    await second.send(type="ping", ref="x")
    assert (await second.expect("pong"))["ref"] == "x"
    await first.close()
    await second.close()


async def test_a_token_that_expires_after_sign_in_cannot_start_or_join_calls(
    service: EmbeddedService, identity: LocalIdentityClient, bob: AgentSocket
) -> None:
    user = identity.create_user()
    token = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=2))
    agent = await AgentSocket.signed_in(service.url, "Short", token=token.token)
    await asyncio.sleep(2.5)
    await agent.send(type="start-call", callId=new_call_id(), participants=[bob.user_id])
    await agent.expect_error("token-expired")
    await agent.send(type="join", groupId=new_call_id())
    await agent.expect_error("token-expired")
    await agent.send(type="ping", ref="still")
    assert (await agent.expect("pong"))["ref"] == "still"  # the connection itself stays up
    await bob.nothing_for(0.2)
    await agent.close()


async def test_refresh_token_keeps_a_connection_able_to_call(
    service: EmbeddedService, identity: LocalIdentityClient, bob: AgentSocket
) -> None:
    user = identity.create_user()
    short = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=2))
    agent = await AgentSocket.signed_in(service.url, "Short", token=short.token)
    fresh = identity.get_token(user, ["voip"], token_expires_in=timedelta(hours=1))
    await agent.send(type="refresh-token", ref="r1", token=fresh.token)
    reply = await agent.expect("token-refreshed")
    assert reply["ref"] == "r1"
    assert reply["expiresOn"].startswith(fresh.expires_on.isoformat()[:19])
    await asyncio.sleep(2.5)  # the sign-in token has expired; the refreshed one has not
    await agent.send(type="start-call", ref="c1", callId=new_call_id(), participants=[bob.user_id])
    assert (await agent.expect("roster"))["ref"] == "c1"
    await bob.expect("incoming-call")
    await agent.close()


async def test_a_bad_refresh_is_refused_and_the_old_token_stays(
    service: EmbeddedService, identity: LocalIdentityClient, bob: AgentSocket
) -> None:
    user = identity.create_user()
    agent = await AgentSocket.signed_in(service.url, "Mine", token=identity.get_token(user, ["voip"]).token)
    someone_else = identity.get_token(identity.create_user(), ["voip"]).token
    await agent.send(type="refresh-token", token=someone_else)
    error = await agent.expect_error("token-wrong-user")
    assert user.id in error["message"]
    await agent.send(type="refresh-token", token="not a token")
    await agent.expect_error("token-malformed")
    expired = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=1))
    await asyncio.sleep(1.5)
    await agent.send(type="refresh-token", token=expired.token)
    await agent.expect_error("token-expired")
    await agent.send(type="refresh-token", token=identity.get_token(user, ["chat"]).token)
    await agent.expect_error("token-scope-insufficient")
    # none of it cost the connection or its token: it can still call
    await agent.send(type="start-call", ref="c1", callId=new_call_id(), participants=[bob.user_id])
    assert (await agent.expect("roster"))["ref"] == "c1"
    await agent.close()
