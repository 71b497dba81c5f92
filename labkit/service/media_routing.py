"""How each call's media travels: a mesh, or through the service's SFU (labkit).

ACS hides this; labkit decides it in the service, per call, and says it on the wire
(``Roster.media``, ``MediaRoute``). 1:1 calls are always a mesh of two. A group call goes
through the SFU when the service has one and the call has more than ``sfu_above``
members (``0``: every group call). A call that grows past that size moves to the SFU
while it runs: its members are told (``media-route``), close their peer links and publish.
It never moves back.
"""

from __future__ import annotations

import logging

from ..protocol.messages import SFU_ID, IceCandidate, MediaRouteKind, SessionDescription, Signal
from .call_record import CallRecord
from .sfu.sfu_configuration import DEFAULT_SFU_ABOVE
from .sfu.sfu_rooms import SfuRooms

logger = logging.getLogger(__name__)


class MediaRouting:
    """The service's routing policy, and the SFU signals it handles."""

    def __init__(self, sfu: SfuRooms | None = None, sfu_above: int = DEFAULT_SFU_ABOVE) -> None:
        if sfu_above < 0:
            raise ValueError(f"sfu_above must be 0 (every group call) or more, not {sfu_above}")
        self.sfu = sfu
        self.sfu_above = sfu_above
        self.routes: dict[str, MediaRouteKind] = {}
        """Calls whose media goes through the SFU (others are a mesh)."""

    def route_of(self, call: CallRecord) -> MediaRouteKind:
        return self.routes.get(call.id, "mesh")

    def update(self, call: CallRecord) -> bool:
        """Route ``call`` by its size now; ``True`` when it has just moved to the SFU."""
        if self.sfu is None or self.route_of(call) == "sfu" or not call.is_group:
            return False
        if not self.sfu.is_available:  # every instance is down: the call stays (or grows) a mesh
            return False
        if len(call.members) <= self.sfu_above:
            return False
        self.routes[call.id] = "sfu"
        logger.info("call %s: %d members, its media goes through the SFU", call.id[:8], len(call.members))
        return True

    def signal(self, call: CallRecord, user_id: str, display_name: str, msg: Signal) -> bool:
        """Take a signal of an SFU call (to ``SFU_ID`` or an answer for a subscription); ``False``: not one."""
        if self.sfu is None or self.route_of(call) != "sfu":
            return False
        payload, to = msg.payload, msg.to or ""
        if isinstance(payload, IceCandidate):
            self.sfu.trickle(call.id, user_id, to, payload)
        elif isinstance(payload, SessionDescription) and to == SFU_ID and payload.kind == "offer":
            self.sfu.publish(call.id, user_id, display_name, payload)
        elif isinstance(payload, SessionDescription) and to != SFU_ID and payload.kind == "answer":
            self.sfu.answer(call.id, user_id, to, payload)
        else:  # a mesh offer still in flight as the call moved: the SFU takes over
            logger.debug("call %s: dropped a %s signal from %s in an SFU call", call.id[:8], payload.kind, user_id)
        return True

    def left(self, call: CallRecord, user_id: str) -> None:
        if self.sfu is not None and self.route_of(call) == "sfu":
            self.sfu.leave(call.id, user_id)

    def held(self, call: CallRecord, user_id: str, held: bool) -> None:
        if self.sfu is not None and self.route_of(call) == "sfu":
            self.sfu.hold(call.id, user_id, held)

    def ended(self, call: CallRecord) -> None:
        if self.routes.pop(call.id, None) == "sfu" and self.sfu is not None:
            self.sfu.close(call.id)

    def sfu_calls(self) -> list[str]:
        return [call_id for call_id, route in self.routes.items() if route == "sfu"]


__all__ = ["DEFAULT_SFU_ABOVE", "MediaRouting"]
