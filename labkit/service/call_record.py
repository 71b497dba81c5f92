"""The service's record of one call: its members and their states."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..protocol.end_reasons import ALL_DECLINED, DECLINED, CallEndReason
from ..protocol.messages import Participant
from ..states import RemoteParticipantState


@dataclass(slots=True)
class Member:
    """One user's place in a call."""

    user_id: str
    display_name: str
    state: RemoteParticipantState
    is_muted: bool = False
    is_video_on: bool = False
    is_on_hold: bool = False
    is_recording: bool = False
    can_roll_back: bool = False
    ring_timer: asyncio.TimerHandle | None = None

    @property
    def is_connected(self) -> bool:
        return self.state is RemoteParticipantState.CONNECTED

    def to_wire(self) -> Participant:
        return Participant(
            user_id=self.user_id,
            display_name=self.display_name,
            state=self.state,
            is_muted=self.is_muted,
            is_video_on=self.is_video_on,
            is_on_hold=self.is_on_hold,
            is_recording=self.is_recording,
            can_roll_back=self.can_roll_back,
        )

    def stop_ringing(self) -> None:
        if self.ring_timer is not None:
            self.ring_timer.cancel()
            self.ring_timer = None


@dataclass(slots=True)
class CallRecord:
    """A call: 1:1, an ad-hoc group (several callees or added participants) or a ``group_id`` call."""

    id: str
    video: bool
    group_id: str | None = None
    is_group: bool = False
    members: dict[str, Member] = field(default_factory=dict)
    failures: list[CallEndReason] = field(default_factory=list)
    answered: bool = False
    restored_with: set[str] | None = None
    """Rebuilt from ``rejoin`` messages (after a service restart): who may rejoin a 1:1 call."""

    def connected(self, *, besides: str | None = None) -> list[Member]:
        return [m for m in self.members.values() if m.is_connected and m.user_id != besides]

    def pending(self) -> list[Member]:
        return [m for m in self.members.values() if not m.is_connected]

    def roster(self) -> list[Participant]:
        return [m.to_wire() for m in self.members.values()]

    def unanswered_reason(self) -> CallEndReason:
        """Why a call that nobody answered ended, from what happened to each callee."""
        if self.failures and all(f.same_as(DECLINED) for f in self.failures):
            return ALL_DECLINED if len(self.failures) > 1 else self.failures[0]
        return self.failures[-1] if self.failures else DECLINED
