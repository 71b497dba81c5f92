"""A raw WebSocket agent for service tests: JSON in, JSON out, nothing of labkit's client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

NAME_SECRETS: dict[tuple[str, str], str] = {}
"""The name secret of each (service, name) these tests took, as a real client keeps it."""


class AgentSocket:
    """One test agent speaking the wire protocol by hand."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, name: str) -> None:
        self.http = http
        self.ws = ws
        self.name = name
        self.user_id = ""

    @classmethod
    async def open(cls, base: str, name: str = "") -> AgentSocket:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(base.replace("http://", "ws://") + "/ws")
        return cls(http, ws, name)

    @classmethod
    async def signed_in(cls, base: str, name: str, token: str | None = None) -> AgentSocket:
        """Get a token for ``name`` (unless given) and sign in."""
        agent = await cls.open(base, name)
        if token is None:
            body = {"userId": name}
            if secret := NAME_SECRETS.get((base, name)):
                body["nameSecret"] = secret
            async with agent.http.post(base + "/api/token", json=body) as response:
                reply = await response.json()
                assert response.status == 200, reply
                token = reply["token"]
                NAME_SECRETS[(base, name)] = reply["nameSecret"]
        await agent.send(type="sign-in", token=token, displayName=name)
        reply = await agent.expect("signed-in")
        agent.user_id = reply["userId"]
        return agent

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = await self.ws.receive(timeout=timeout)
        if frame.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"{self.name}: expected a text frame, got {frame.type!r} ({frame.data!r})")
        result: dict[str, Any] = json.loads(frame.data)
        return result

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message, which must be of type ``kind``."""
        message = await self.recv(timeout)
        assert message["type"] == kind, f"{self.name}: expected {kind!r}, got {message}"
        return message

    async def expect_error(self, code: str, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.expect("error", timeout)
        assert message["code"] == code, f"{self.name}: expected error {code!r}, got {message}"
        assert message["message"], "an error must carry a human message"
        return message

    async def nothing_for(self, seconds: float = 0.3) -> None:
        """Assert that no message arrives within ``seconds``."""
        try:
            message = await self.recv(timeout=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"{self.name}: expected silence, got {message}")

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


def new_call_id() -> str:
    return str(uuid.uuid4())


OFFER = {"kind": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}


def reason(message: dict) -> tuple[int, int]:  # type: ignore[type-arg]
    return message["reason"]["code"], message["reason"]["subCode"]


async def ring(caller: AgentSocket, *callees: AgentSocket, video: bool = True, **extra: object) -> str:
    """Caller starts a call; each callee receives the invitation and reports ringing."""
    call_id = new_call_id()
    await caller.send(
        type="start-call", callId=call_id, participants=[c.user_id for c in callees], video=video, **extra
    )
    roster = await caller.expect("roster")
    assert roster["callId"] == call_id
    assert [p["state"] for p in roster["participants"]] == ["Connected"] + ["Connecting"] * len(callees)
    for callee in callees:
        invite = await callee.expect("incoming-call")
        assert invite["caller"]["userId"] == caller.user_id
        assert invite["caller"]["displayName"] == caller.name
        assert invite["video"] is video
        await callee.send(type="ringing", callId=call_id)
        update = await caller.expect("participant-updated")
        assert (update["participant"]["userId"], update["participant"]["state"]) == (callee.user_id, "Ringing")
    return call_id


async def connect_all(caller: AgentSocket, *callees: AgentSocket) -> str:
    """Caller rings the callees and each accepts in turn; every roster and update is consumed."""
    call_id = await ring(caller, *callees)
    for number, callee in enumerate(callees):
        await callee.send(type="accept", callId=call_id)
        await callee.expect("roster")
        for earlier in (caller, *callees[:number]):
            assert (await earlier.expect("participant-updated"))["participant"]["userId"] == callee.user_id
    return call_id
