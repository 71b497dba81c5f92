"""The wire format between call agents and the service (docs/protocol.md), on its own.

``messages`` holds every message (pydantic models, the single source of truth), ``end_reasons``
the ACS ``CallEndReason`` codes, and ``signaling_client`` an agent's side of the connection
(``SignalingClient``, ``request_token``, ``list_users``). Media, calling and the service all
import it; importing it loads no server.
"""

from __future__ import annotations

from . import end_reasons, messages
from .end_reasons import CallEndReason
from .messages import PROTOCOL_VERSION, MessageType

__all__ = ["PROTOCOL_VERSION", "CallEndReason", "MessageType", "end_reasons", "messages"]
