"""The signaling and token service. ACS: the Communication Services backend.

Runs embedded (``start_service()``, a background thread) or standalone (``labkit serve``).
"""

from __future__ import annotations

from . import end_reasons, protocol
from .app import create_app
from .end_reasons import CallEndReason
from .limits import ServiceLimits
from .protocol import PROTOCOL_VERSION, MessageType
from .relay import RelayConfiguration
from .server import EmbeddedService, Server, default_service, start_service
from .switchboard import Switchboard

__all__ = [
    "PROTOCOL_VERSION",
    "CallEndReason",
    "EmbeddedService",
    "MessageType",
    "RelayConfiguration",
    "Server",
    "ServiceLimits",
    "Switchboard",
    "create_app",
    "default_service",
    "end_reasons",
    "protocol",
    "start_service",
]
