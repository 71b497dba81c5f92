"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from .access import AccessPolicy
from .agent_connection import AgentConnection
from .limits import ServiceLimits
from .relay import RelayConfiguration
from .switchboard import Switchboard
from .token_directory import TokenDirectory

SWITCHBOARD_KEY = web.AppKey("switchboard", Switchboard)
CONNECTIONS_KEY: web.AppKey[set[AgentConnection]] = web.AppKey("connections")
DIRECTORY_KEY = web.AppKey("directory", TokenDirectory)
RELAY_KEY = web.AppKey("relay", RelayConfiguration)
LIMITS_KEY = web.AppKey("limits", ServiceLimits)
ACCESS_KEY = web.AppKey("access", AccessPolicy)
