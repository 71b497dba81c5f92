"""A Python client of the service: the token endpoint and the agent WebSocket protocol."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from ..errors import ErrorCode, LabkitError, TokenError
from .access_code import ACCESS_CODE_ENV, ACCESS_CODE_HEADER
from .messages import Error, Message, SignedIn, SignIn, parse_service_message

logger = logging.getLogger(__name__)

MessageHandler = Callable[[Message], Awaitable[None] | None]
CloseHandler = Callable[[int | None], Awaitable[None] | None]

_TOKEN_CODES = {
    ErrorCode.TOKEN_MISSING,
    ErrorCode.TOKEN_MALFORMED,
    ErrorCode.TOKEN_INVALID_SIGNATURE,
    ErrorCode.TOKEN_EXPIRED,
    ErrorCode.TOKEN_REVOKED,
    ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
    ErrorCode.USER_DELETED,
}


def error_from(message: Error) -> LabkitError:
    """The exception for an ``error`` message (``TokenError`` for refused tokens)."""
    try:
        code = ErrorCode(message.code)
    except ValueError:
        return LabkitError(ErrorCode.INVALID_MESSAGE, f"{message.code}: {message.message}", message.hint)
    cls = TokenError if code in _TOKEN_CODES else LabkitError
    return cls(code, message.message, message.hint)


_name_secrets: dict[tuple[str, str], str] = {}
"""(endpoint, name) -> the ``nameSecret`` this process got with its first token for that name."""


async def request_token(
    endpoint: str,
    user_id: str,
    *,
    session: aiohttp.ClientSession | None = None,
    access_code: str | None = None,
) -> tuple[str, str]:
    """``POST /api/token``: a voip token and the communication user id for app user ``user_id``.

    ``access_code`` (default ``$LABKIT_ACCESS_CODE``) is the service's, if it has one. The name's
    secret is kept for this process, so later tokens for the same name (a refresh) are granted;
    another process asking for a name in use gets ``name-taken``.
    """
    base = endpoint.rstrip("/")
    body = {"userId": user_id}
    if secret := _name_secrets.get((base, user_id)):
        body["nameSecret"] = secret
    if code := access_code or os.environ.get(ACCESS_CODE_ENV):
        body["accessCode"] = code
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        async with http.post(f"{base}/api/token", json=body) as response:
            reply: Any = await response.json(content_type=None)
            if response.status != 200:
                raise _http_error(reply, response.status)
            if isinstance(reply.get("nameSecret"), str):
                _name_secrets[(base, user_id)] = reply["nameSecret"]
            return str(reply["token"]), str(reply["userId"])
    finally:
        if own:
            await http.close()


async def list_users(endpoint: str, *, access_code: str | None = None) -> list[dict[str, Any]]:
    """``GET /api/users``: the users the service knows, with whether they are signed in."""
    code = access_code or os.environ.get(ACCESS_CODE_ENV)
    headers = {ACCESS_CODE_HEADER: code} if code else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{endpoint.rstrip('/')}/api/users", headers=headers) as response,
    ):
        reply: Any = await response.json(content_type=None)
        if response.status != 200:
            raise _http_error(reply, response.status)
        users: list[dict[str, Any]] = reply
        return users


def _http_error(reply: Any, status: int) -> LabkitError:
    """The ``LabkitError`` for an HTTP API error body ``{"error": {code, message, hint}}`` (as ``error_from``)."""
    error = reply.get("error", {}) if isinstance(reply, dict) else {}
    hint = error.get("hint")
    return error_from(
        Error(
            code=str(error.get("code", ErrorCode.BAD_REQUEST.value)),
            message=str(error.get("message", f"HTTP {status}")),
            hint=hint if isinstance(hint, str) else None,
        )
    )


class SignalingClient:
    """One agent's signed-in WebSocket to the service.

    ``request`` sends a message with a fresh ``ref`` and waits for its reply (or raises the
    ``LabkitError`` the service answered with). Every message but errors and ``signed-in``
    also goes to ``on_message``, one at a time and in order; ``on_close`` is called once
    when the connection ends. Handlers must not wait for replies (that would deadlock).
    """

    def __init__(
        self, endpoint: str, on_message: MessageHandler | None = None, on_close: CloseHandler | None = None
    ) -> None:
        base = endpoint.rstrip("/")
        self.ws_url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws"
        self.on_message = on_message
        self.on_close = on_close
        self.signed_in: SignedIn | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._refs = itertools.count(1)
        self.close_code: int | None = None

    @property
    def is_connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self, token: str, display_name: str = "", timeout: float = 10.0) -> SignedIn:
        """Open the WebSocket and sign in; raises ``TokenError`` if the token is refused."""
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(
                self.ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=2.0), heartbeat=30.0
            )
        except (aiohttp.ClientError, OSError) as exc:
            await self._http.close()
            raise LabkitError(
                ErrorCode.NOT_SIGNED_IN, f"Cannot reach the labkit service at {self.ws_url}: {exc}.", "Is it running?"
            ) from exc
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="labkit-signaling-reader")
        try:
            reply = await self.request(SignIn(token=token, display_name=display_name), timeout=timeout)
        except BaseException:
            await self.close()
            raise
        assert isinstance(reply, SignedIn)
        self.signed_in = reply
        return reply

    async def send(self, message: Message) -> None:
        """Send without waiting for a reply."""
        if self._ws is None or self._ws.closed:
            raise LabkitError(ErrorCode.NOT_SIGNED_IN, "The connection to the service is closed.", "Sign in again.")
        await self._ws.send_str(json.dumps(message.to_wire(), separators=(",", ":")))

    async def request(self, message: Message, timeout: float = 10.0) -> Message:
        """Send ``message`` with a new ``ref`` and return the service's reply to it."""
        ref = f"r{next(self._refs)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        try:
            await self.send(message.model_copy(update={"ref": ref}))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(ref, None)
        if isinstance(reply, Error):
            raise error_from(reply)
        return reply

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = parse_service_message(frame.data)
                except ValueError:
                    logger.warning("ignoring an unparseable message from the service: %.200s", frame.data)
                    continue
                ref = getattr(message, "ref", None)
                future = self._pending.get(ref) if ref else None
                if future is not None and not future.done():
                    future.set_result(message)
                    if isinstance(message, Error | SignedIn):
                        continue
                # replies are dispatched too, in order with what follows them: a roster
                # is always handled before the updates the service sent after it
                await self._dispatch(message)
        finally:
            self.close_code = self._ws.close_code
            closed = LabkitError(ErrorCode.NOT_SIGNED_IN, "The connection to the service closed.")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(closed)
            if self.on_close is not None:
                result = self.on_close(self.close_code)
                if asyncio.iscoroutine(result):
                    await result

    async def _dispatch(self, message: Message) -> None:
        if self.on_message is None:
            return
        try:
            result = self.on_message(message)
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            logger.exception("a signaling message handler failed on %s", type(message).__name__)
