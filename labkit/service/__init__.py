"""The signaling and token service. ACS: the Communication Services backend.

Runs embedded (``start_service()``, a background thread) or standalone (``labkit serve``).
"""

from __future__ import annotations

from ..protocol import end_reasons
from ..protocol import messages as protocol
from ..protocol.end_reasons import CallEndReason
from ..protocol.messages import PROTOCOL_VERSION, MessageType
from .app import create_app
from .limits import ServiceLimits
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
