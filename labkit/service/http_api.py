"""The HTTP endpoints: ``POST /api/token`` (the seed's token service) and ``GET /health``."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from .._version import __version__
from ..errors import ErrorCode
from .app_keys import DIRECTORY_KEY, LIMITS_KEY, SWITCHBOARD_KEY

MAX_USER_ID_LENGTH = 256

logger = logging.getLogger(__name__)


def _bad_request(message: str) -> web.Response:
    body = {"error": {"code": ErrorCode.BAD_REQUEST.value, "message": message}}
    return web.json_response(body, status=400)


async def handle_token(request: web.Request) -> web.Response:
    """``POST /api/token`` ``{"userId": "alice"}`` -> ``{"token", "userId"}`` with the voip scope."""
    try:
        body: Any = await asyncio.wait_for(request.json(), request.app[LIMITS_KEY].request_body_timeout)
    except TimeoutError:
        return web.json_response(
            {"error": {"code": ErrorCode.BAD_REQUEST.value, "message": "The request body did not arrive in time."}},
            status=408,
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad_request('The body must be JSON such as {"userId": "alice"}.')
    if not isinstance(body, dict):
        return _bad_request('The body must be a JSON object such as {"userId": "alice"}.')
    name = body.get("userId")
    if not isinstance(name, str) or not name.strip():
        return _bad_request('"userId" is required: a non-empty string naming the user, such as "alice".')
    if len(name) > MAX_USER_ID_LENGTH:
        return _bad_request(f'"userId" must be at most {MAX_USER_ID_LENGTH} characters.')
    try:
        token, user_id = await request.app[DIRECTORY_KEY].token_for(name)
    except Exception as exc:  # the identity backend (e.g. Azure) failed; say so instead of a bare 500
        logger.warning("the identity backend failed to issue a token: %s", exc)
        body = {
            "error": {
                "code": ErrorCode.IDENTITY_UNAVAILABLE.value,
                "message": f"The identity backend could not issue a token: {type(exc).__name__}: {exc}",
            }
        }
        return web.json_response(body, status=502)
    return web.json_response({"token": token, "userId": user_id})


async def handle_users(request: web.Request) -> web.Response:
    """``GET /api/users``: who can be called, by name: ``[{"name", "userId", "displayName", "online"}]``.

    Users who got a token from ``/api/token`` are listed under that name; agents signed in
    with other tokens are listed under their display name.
    """
    switchboard = request.app[SWITCHBOARD_KEY]
    users: dict[str, dict[str, object]] = {}
    for name, user_id in request.app[DIRECTORY_KEY].names().items():
        agent = switchboard.agents.get(user_id)
        users[user_id] = {
            "name": name,
            "userId": user_id,
            "displayName": agent.display_name if agent else "",
            "online": agent is not None,
        }
    for user_id, agent in switchboard.agents.items():
        users.setdefault(
            user_id, {"name": agent.display_name, "userId": user_id, "displayName": agent.display_name, "online": True}
        )
    return web.json_response(sorted(users.values(), key=lambda u: str(u["name"]).lower()))


async def handle_health(request: web.Request) -> web.Response:
    """``GET /health``: status, version, connected agents and active calls."""
    switchboard = request.app[SWITCHBOARD_KEY]
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "agents": len(switchboard.agents),
            "calls": len(switchboard.calls),
        }
    )
