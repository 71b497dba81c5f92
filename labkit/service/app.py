"""The aiohttp application: the web app, token endpoint, health check and the agents' WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from ..errors import TokenError
from ..identity import IdentityClient, LocalIdentityClient
from .access import AccessPolicy
from .agent_connection import AgentConnection
from .app_keys import ACCESS_KEY, CONNECTIONS_KEY, DIRECTORY_KEY, LIMITS_KEY, RELAY_KEY, SWITCHBOARD_KEY
from .http_api import handle_health, handle_token, handle_users
from .limits import ServiceLimits
from .media_routing import MediaRouting
from .relay import RelayConfiguration
from .signaling import handle_agent_socket
from .switchboard import Switchboard
from .token_directory import TokenDirectory
from .web_app import add_web_app

MAX_REQUEST_BYTES = 64 * 1024


def create_app(
    identity: IdentityClient | None = None,
    relay: RelayConfiguration | None = None,
    limits: ServiceLimits | None = None,
    access_code: str | None = None,
    routing: MediaRouting | None = None,
) -> web.Application:
    """A labkit service application; ``identity`` defaults to a fresh ``LocalIdentityClient``.

    ``relay`` lists the STUN and TURN servers agents get at sign-in (none by default);
    ``limits`` are the per-client limits (``ServiceLimits()`` by default); with an
    ``access_code``, ``POST /api/token`` and ``GET /api/users`` need it. ``routing`` says
    which calls go through an SFU (none by default: every call is a mesh).
    """
    identity = identity or LocalIdentityClient()
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[LIMITS_KEY] = limits = limits or ServiceLimits()
    app[ACCESS_KEY] = AccessPolicy(access_code, limits)
    app[RELAY_KEY] = relay or RelayConfiguration()
    app[SWITCHBOARD_KEY] = switchboard = Switchboard(identity, routing)
    app[DIRECTORY_KEY] = TokenDirectory(identity, is_online=lambda user_id: user_id in switchboard.agents)
    app[CONNECTIONS_KEY] = set()
    app.router.add_post("/api/token", handle_token)
    app.router.add_get("/health", handle_health)
    app.router.add_get("/api/users", handle_users)
    app.router.add_get("/ws", handle_agent_socket)
    add_web_app(app)
    app.cleanup_ctx.append(_end_revoked_sessions)
    app.on_shutdown.append(_close_agents)
    return app


async def _end_revoked_sessions(app: web.Application) -> AsyncIterator[None]:
    """While the service runs, a revoked or deleted user's live session ends at once (as ACS does)."""
    loop = asyncio.get_running_loop()
    switchboard = app[SWITCHBOARD_KEY]

    def on_revoked(user_id: str, error: TokenError) -> None:  # any thread
        if not loop.is_closed():
            loop.call_soon_threadsafe(switchboard.revoke, user_id, error)

    stop = switchboard.identity.revocations.subscribe(on_revoked)
    yield
    stop()


async def _close_agents(app: web.Application) -> None:
    connections: set[AgentConnection] = app[CONNECTIONS_KEY]
    await asyncio.gather(*(c.close(1001, "service shutting down") for c in list(connections)), return_exceptions=True)
