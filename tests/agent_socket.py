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
