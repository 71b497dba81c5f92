"""The network lab: break a call's network on purpose (labkit; ``call.feature(Features.NETWORK_LAB)``).

On loopback every call is perfect. The lab gives each remote participant's link, in each
direction, a ``NetworkConditions``: loss (independent or bursty), delay, jitter (with or
without reordering), duplication, and a bandwidth cap with a queue. It is applied to the
encrypted datagrams below DTLS and SRTP, so RTCP, NACK, PLI, REMB and the jitter buffer
above react as on a real network. Conditions change at once, mid-call, or on a schedule.

    lab = call.feature(Features.NETWORK_LAB)
    lab.set(NetworkConditions(loss=0.1))                        # every link, both directions
    lab.set(NetworkConditions(delay_ms=200), direction="send")  # what this agent sends
    lab.schedule([(0, NetworkConditions(bandwidth_kbps=300)), (10, NetworkConditions())])
    lab.counts()                                                # what the lab did, per direction
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..calling.features import Features, register_feature
from ..calling.remote_participant import RemoteParticipant
from ..errors import ArgumentError
from ..media.media_link import MediaLink
from ..media.network_conditions import Direction, ImpairmentCounts, NetworkConditions

if TYPE_CHECKING:
    from ..calling.call import Call

Directions = Literal["send", "receive", "both"]
Participant = RemoteParticipant | str | None
Step = tuple[float, NetworkConditions]
"""(seconds after the schedule starts, the conditions from then on)."""


class NetworkLabFeature:
    """``call.feature(Features.NETWORK_LAB)``: network conditions for each link and direction of the call."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._media = call.media
        self._defaults: dict[Direction, NetworkConditions] = {
            "send": NetworkConditions(),
            "receive": NetworkConditions(),
        }
        self._own: dict[tuple[str, Direction], NetworkConditions] = {}
        self._schedules: set[asyncio.Task[None]] = set()

    def set(
        self, conditions: NetworkConditions, participant: Participant = None, direction: Directions = "both"
    ) -> None:
        """Apply ``conditions`` from now on: to one participant's link, or (``None``) to every link, now and later."""
        if not isinstance(conditions, NetworkConditions):
            raise ArgumentError("set() takes a NetworkConditions, e.g. NetworkConditions(loss=0.1, delay_ms=50).")
        directions: tuple[Direction, ...] = ("send", "receive") if direction == "both" else (direction,)
        if participant is None:
            for which in directions:
                self._defaults[which] = conditions
                self._own = {key: value for key, value in self._own.items() if key[1] != which}
        else:
            user_id = self._media.user_id_of(participant)
            for which in directions:
                self._own[(user_id, which)] = conditions
        self._media.engine.call_soon(self._apply)

    def clear(self) -> None:
        """A perfect network again, everywhere; schedules stop."""
        self._media.engine.call_soon(self.on_call_ended)
        self.set(NetworkConditions())

    def conditions(self, participant: Participant = None, direction: Direction = "send") -> NetworkConditions:
        """The conditions of one link (by default the only or first) in one direction."""
        user_id = self._media.user_id_of(participant) if participant is not None else next(iter(self._media.links), "")
        return self._own.get((user_id, direction), self._defaults[direction])

    def counts(self, participant: Participant = None) -> dict[Direction, ImpairmentCounts]:
        """What the lab did to one link so far, per direction: datagrams, lost, queue drops, delayed, duplicated."""
        link = self._link(participant)
        return {direction: impairment.counts for direction, impairment in link.impairments.items()}

    def schedule(self, steps: Sequence[Step], participant: Participant = None, direction: Directions = "both") -> None:
        """Change the conditions at the given times (seconds from now), e.g. a bandwidth step down and back up.

        ``clear()`` (or the end of the call) stops every schedule.
        """
        ordered = sorted(steps, key=lambda step: step[0])
        for at, conditions in ordered:
            if at < 0 or not isinstance(conditions, NetworkConditions):
                raise ArgumentError("Each step is (seconds from now, NetworkConditions), the seconds 0 or more.")

        async def run() -> None:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for at, conditions in ordered:
                await asyncio.sleep(max(0.0, start + at - loop.time()))
                self.set(conditions, participant, direction)

        self._media.engine.call_soon(self._launch, run())

    def _launch(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="labkit-network-schedule")
        self._schedules.add(task)
        task.add_done_callback(self._schedules.discard)

    # --- CallFeature hooks ------------------------------------------------------------------

    def on_participants_changed(self) -> None:
        """A new link gets the conditions set for every link (CallFeature hook)."""
        self._apply()

    def on_call_ended(self) -> None:
        """Stop the schedules (CallFeature hook)."""
        for task in list(self._schedules):
            task.cancel()

    # --- internals --------------------------------------------------------------------------

    def _apply(self) -> None:
        """Give every link its conditions (engine thread)."""
        for user_id, link in self._media.links.items():
            for direction in ("send", "receive"):
                wanted = self._own.get((user_id, direction), self._defaults[direction])
                if link.impairments[direction].conditions != wanted:
                    link.set_conditions(direction, wanted)

    def _link(self, participant: Participant) -> MediaLink:
        return self._media.link_of(participant)


register_feature(Features.NETWORK_LAB, NetworkLabFeature)
