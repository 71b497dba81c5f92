"""The HTTP endpoints: ``POST /api/token`` (the ACS guide's token service) and ``GET /health``."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from aiohttp import web

from .._version import __version__
from ..errors import ErrorCode, LabkitError
from ..protocol.access_code import ACCESS_CODE_HEADER
from ..protocol.messages import MAX_USER_ID_LENGTH, is_unicode
from .app_keys import ACCESS_KEY, DIRECTORY_KEY, LIMITS_KEY, SWITCHBOARD_KEY

logger = logging.getLogger(__name__)


def _error(
    status: int, code: ErrorCode, message: str, *, hint: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    error: dict[str, str] = {"code": code.value, "message": message}
    if hint:
        error["hint"] = hint
    return web.json_response({"error": error}, status=status, headers=headers)


def _bad_request(message: str) -> web.Response:
    return _error(400, ErrorCode.BAD_REQUEST, message)


def _access_denied() -> web.Response:
    return _error(
        403,
        ErrorCode.ACCESS_DENIED,
        "This service needs its access code.",
        hint="Ask whoever runs it (labkit serve --access-code); the web app has a field for it.",
    )


async def handle_token(request: web.Request) -> web.Response:
    """``POST /api/token`` ``{"userId": "alice"}`` -> ``{"token", "userId", "nameSecret"}`` with the voip scope.

    With an access code, the body (``accessCode``) or the ``X-Labkit-Access-Code`` header must carry it.
    A name already held needs its ``nameSecret``; tokens are rate-limited per client address.
    """
    access = request.app[ACCESS_KEY]
    wait = access.token_wait(request.remote or "?")
    if wait > 0:
        return _error(
            429,
            ErrorCode.RATE_LIMITED,
            f"Too many token requests from your address; try again in {wait:.1f} s.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        body: Any = await asyncio.wait_for(request.json(), request.app[LIMITS_KEY].request_body_timeout)
    except TimeoutError:
        return _error(408, ErrorCode.BAD_REQUEST, "The request body did not arrive in time.")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return _bad_request('The body must be JSON such as {"userId": "alice"}.')
    if not isinstance(body, dict):
        return _bad_request('The body must be a JSON object such as {"userId": "alice"}.')
    if not access.allows(body.get("accessCode", request.headers.get(ACCESS_CODE_HEADER))):
        return _access_denied()
    name = body.get("userId")
    if not isinstance(name, str) or not name.strip():
        return _bad_request('"userId" is required: a non-empty string naming the user, such as "alice".')
    if len(name) > MAX_USER_ID_LENGTH:
        return _bad_request(f'"userId" must be at most {MAX_USER_ID_LENGTH} characters.')
    secret = body.get("nameSecret")
    if secret is not None and (not isinstance(secret, str) or len(secret) > 128 or not is_unicode(secret)):
        return _bad_request('"nameSecret" must be the string you got with your first token for this name.')
    if not is_unicode(name):
        return _bad_request('"userId" must be valid Unicode.')
    try:
        token, user_id, secret = await request.app[DIRECTORY_KEY].token_for(name, secret)
    except LabkitError as refused:
        return _error(409, refused.code, refused.message, hint=refused.hint)
    except Exception as exc:  # the identity backend (e.g. Azure) failed; say so instead of a bare 500
        logger.warning("the identity backend failed to issue a token: %s", exc)
        message = f"The identity backend could not issue a token: {type(exc).__name__}: {exc}"
        return _error(502, ErrorCode.IDENTITY_UNAVAILABLE, message)
    return web.json_response({"token": token, "userId": user_id, "nameSecret": secret})


async def handle_users(request: web.Request) -> web.Response:
    """``GET /api/users``: who can be called, by name: ``[{"name", "userId", "displayName", "online"}]``.

    Users who got a token from ``/api/token`` are listed under that name; agents signed in
    with other tokens are listed under their display name. With an access code, the
    ``X-Labkit-Access-Code`` header (or ``?accessCode=``) must carry it.
    """
    code = request.headers.get(ACCESS_CODE_HEADER, request.query.get("accessCode"))
    if not request.app[ACCESS_KEY].allows(code):
        return _access_denied()
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
            "accessCodeRequired": request.app[ACCESS_KEY].requires_code,
        }
    )
