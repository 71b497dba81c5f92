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
    lab.set_jitter_buffer_target(80, kind="audio")              # W3C jitterBufferTarget, in ms
    lab.set_receive_path("aiortc")                              # aiortc's jitter buffers, to compare
    lab.receive_stats()                                         # jitter buffer, concealment, NACK, PLI
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..calling.features import Features, register_feature
from ..calling.remote_participant import RemoteParticipant
from ..errors import ArgumentError
from ..media.media_link import MediaLink
from ..media.network_conditions import Direction, ImpairmentCounts, NetworkConditions
from ..media.receive_path import PATHS, ReceiveStats
from ..media.receive_path import Path as ReceivePath

if TYPE_CHECKING:
    from ..calling.call import Call

Directions = Literal["send", "receive", "both"]
Kinds = Literal["audio", "video", "both"]
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
        self._receive_path: ReceivePath = "labkit"
        self._targets: dict[str, float | None] = {"audio": None, "video": None}

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
        """What the lab did to one link so far, per direction: datagrams, lost, queue drops, delayed, duplicated.

        A snapshot: take one before and one after a step, and subtract.
        """
        link = self._link(participant)
        return {direction: dataclasses.replace(impairment.counts) for direction, impairment in link.impairments.items()}

    def set_receive_path(self, path: ReceivePath) -> None:
        """Every link's receivers from now on use labkit's jitter buffers (``"labkit"``) or aiortc's (``"aiortc"``).

        aiortc's are the baseline labkit improves on: a video frame waits for the next one to
        start, and audio stops at the first lost packet. Switch mid-call and watch the latency
        and the concealment change.
        """
        if path not in PATHS:
            raise ArgumentError(f"The receive path is one of {', '.join(PATHS)}, not {path!r}.")
        self._receive_path = path
        self._media.engine.call_soon(self._apply)

    def set_jitter_buffer_target(self, target_ms: float | None, kind: Kinds = "both") -> None:
        """W3C ``RTCRtpReceiver.jitterBufferTarget``: how long the receivers hold media to smooth jitter, in ms.

        ``None`` is the default: audio adapts to the jitter it measures, video is released as
        soon as each frame is complete. A larger target trades latency for smoothness.
        """
        if target_ms is not None and (not isinstance(target_ms, int | float) or not 0 <= target_ms <= 4000):
            raise ArgumentError("A jitter-buffer target is a number of ms from 0 to 4000 (W3C), or None.")
        kinds = ("audio", "video") if kind == "both" else (kind,)
        for which in kinds:
            if which not in self._targets:
                raise ArgumentError(f"kind is audio, video or both, not {kind!r}.")
            self._targets[which] = target_ms
        self._media.engine.call_soon(self._apply)

    def receive_stats(self, participant: Participant = None) -> dict[str, ReceiveStats]:
        """One link's receivers, by kind: jitter-buffer delay and target, concealment, NACKs and PLIs sent."""
        return dict(self._link(participant).receive_stats())

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
            if link.receive_path != self._receive_path:
                link.set_receive_path(self._receive_path)
            for kind, target in self._targets.items():
                link.set_jitter_buffer_target(kind, target)

    def _link(self, participant: Participant) -> MediaLink:
        return self._media.link_of(participant)


register_feature(Features.NETWORK_LAB, NetworkLabFeature)
