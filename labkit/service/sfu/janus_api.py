"""Janus's JSON API over HTTP: a session, its plugin handles, and the events they get (labkit).

One ``JanusSession`` per Janus instance: ``attach()`` gives a ``JanusHandle`` on the
videoroom plugin; ``handle.request(body)`` is a synchronous plugin request (create a room),
``handle.message(body, jsep)`` an asynchronous one whose answer comes as an event
(``joined``, ``attached``), matched by transaction. A long poll (``GET /janus/<session>``)
brings the events, and keeps the session alive; when Janus stops answering, ``on_lost``
is called once with what went wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

from .janus_process import SfuError

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0
"""Seconds a request (or the event that answers it) may take."""
POLL_FAILURES = 2
"""Failed long polls in a row before Janus counts as lost."""

Event = dict[str, Any]


class JanusHandle:
    """One handle on the videoroom plugin (Janus ``attach``): a publisher or a subscriber."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id
        self.on_event: Callable[[Event], None] | None = None
        """Events for this handle that answer no request (``webrtcup``, ``hangup``, ``media``...)."""

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request; its ``plugindata.data``."""
        reply = await self.session.send({"janus": "message", "body": body}, self.id)
        return _plugin_data(reply)

    async def message(self, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> Event:
        """An asynchronous plugin request: the event that answers it (with its ``jsep``, if any)."""
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        event = await self.session.send(payload, self.id, wait_event=True)
        _plugin_data(event)  # raises on a plugin error
        return event

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """An ICE candidate from the client (``None``: no more)."""
        await self.session.send(
            {"janus": "trickle", "candidate": candidate if candidate is not None else {"completed": True}}, self.id
        )

    async def detach(self) -> None:
        self.session.handles.pop(self.id, None)
        with contextlib.suppress(SfuError, aiohttp.ClientError, TimeoutError):
            await self.session.send({"janus": "detach"}, self.id)


class JanusSession:
    """A session on one Janus, over its HTTP API at ``url`` (with its ``api_secret``)."""

    def __init__(self, url: str, api_secret: str | None, on_lost: Callable[[str], None] | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self.on_lost = on_lost
        self.id = 0
        self.handles: dict[int, JanusHandle] = {}
        self._http: aiohttp.ClientSession | None = None
        self._waiting: dict[str, asyncio.Future[Event]] = {}
        self._poller: asyncio.Task[None] | None = None
        self.lost: str | None = None
        """Why Janus is gone, once it is."""

    async def open(self) -> None:
        """Create the session (``SfuError`` if Janus is unreachable or refuses the secret)."""
        self._http = aiohttp.ClientSession()
        try:
            reply = await self.send({"janus": "create"}, session=False)
        except BaseException:
            await self._http.close()
            self._http = None
            raise
        self.id = int(reply["data"]["id"])
        self._poller = asyncio.get_running_loop().create_task(self._poll(), name=f"labkit-janus-poll {self.id}")

    async def attach(self, plugin: str = "janus.plugin.videoroom") -> JanusHandle:
        reply = await self.send({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self.handles[handle.id] = handle
        return handle

    async def send(
        self, payload: dict[str, Any], handle_id: int | None = None, *, session: bool = True, wait_event: bool = False
    ) -> Event:
        """POST ``payload``; the reply, or (``wait_event``) the event with the same transaction."""
        if self.lost is not None:
            raise SfuError(f"The SFU is gone: {self.lost}")
        if self._http is None:
            raise SfuError("The Janus session is closed.")
        transaction = secrets.token_hex(8)
        body = {**payload, "transaction": transaction}
        if self.api_secret:
            body["apisecret"] = self.api_secret
        url = self.url if not session else f"{self.url}/{self.id}" + (f"/{handle_id}" if handle_id else "")
        waiter: asyncio.Future[Event] | None = None
        if wait_event:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting[transaction] = waiter
        try:
            try:
                async with self._http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as r:
                    reply: Event = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as error:
                raise SfuError(f"Janus at {self.url} did not answer: {error or type(error).__name__}") from error
            if reply.get("janus") == "error":
                refusal = reply.get("error", {})
                code = refusal.get("code")
                hint = "Check --sfu-secret: it must be Janus's api_secret." if code == 403 else None
                raise SfuError(f"Janus refused {payload.get('janus')}: {refusal.get('reason')} ({code})", hint)
            if waiter is None:
                return reply
            if reply.get("janus") != "ack":
                return reply  # answered at once
            try:
                return await asyncio.wait_for(waiter, REQUEST_TIMEOUT)
            except TimeoutError as error:
                raise SfuError(f"Janus did not answer a {payload.get('janus')} within {REQUEST_TIMEOUT:g} s") from error
        finally:
            self._waiting.pop(transaction, None)

    async def _poll(self) -> None:
        assert self._http is not None
        failures = 0
        params = {"maxev": "20"}
        if self.api_secret:
            params["apisecret"] = self.api_secret
        while True:
            try:
                async with self._http.get(
                    f"{self.url}/{self.id}", params=params, timeout=aiohttp.ClientTimeout(total=40)
                ) as reply:
                    events = await reply.json(content_type=None)
                failures = 0
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                failures += 1
                if failures >= POLL_FAILURES:
                    self.lose(f"Janus at {self.url} stopped answering ({error or type(error).__name__})")
                    return
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "error" and event.get("error", {}).get("code") == 458:
                    self.lose("Janus dropped labkit's session (458: no such session)")
                    return
                self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        waiter = self._waiting.get(str(event.get("transaction")))
        if waiter is not None and not waiter.done() and event.get("janus") == "event":
            waiter.set_result(event)
            return
        handle = self.handles.get(int(event.get("sender", 0) or 0))
        if handle is not None and handle.on_event is not None:
            try:
                handle.on_event(event)
            except Exception:
                logger.exception("handling a Janus event failed: %s", event.get("janus"))

    def lose(self, why: str) -> None:
        """Janus is gone (``why``): fail what waits for it, and call ``on_lost`` once."""
        if self.lost is not None:
            return
        self.lost = why
        logger.warning("%s", why)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(SfuError(f"The SFU is gone: {why}"))
        if self.on_lost is not None:
            self.on_lost(why)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._http is not None:
            if self.lost is None and self.id:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, SfuError):
                    await self.send({"janus": "destroy"})
            await self._http.close()
            self._http = None


def _plugin_data(reply: Event) -> dict[str, Any]:
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error" in data:
        raise SfuError(f"Janus's videoroom refused the request: {data['error']} ({data.get('error_code')})")
    return data


__all__ = ["JanusHandle", "JanusSession"]
