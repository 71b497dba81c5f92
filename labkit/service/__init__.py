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
from .media_routing import DEFAULT_SFU_ABOVE, MediaRouting
from .relay import RelayConfiguration
from .server import EmbeddedService, Server, default_service, start_service
from .sfu import SfuConfiguration, SfuError, SfuRooms
from .switchboard import Switchboard

__all__ = [
    "DEFAULT_SFU_ABOVE",
    "PROTOCOL_VERSION",
    "CallEndReason",
    "EmbeddedService",
    "MediaRouting",
    "MessageType",
    "RelayConfiguration",
    "Server",
    "ServiceLimits",
    "SfuConfiguration",
    "SfuError",
    "SfuRooms",
    "Switchboard",
    "create_app",
    "default_service",
    "end_reasons",
    "protocol",
    "start_service",
]
