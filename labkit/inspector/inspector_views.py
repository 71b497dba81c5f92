"""What the inspector shows: the records and views its methods return (labkit).

Each is plain data; ``AnnotatedSdp`` also draws itself as an HTML table in notebooks, with
every text escaped (an SDP comes from another party).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..media.ice_checks import IceCheck
from ..media.peer_connection import DtlsDescription
from .sdp_annotation import SdpLine


@dataclass(frozen=True, slots=True)
class SignalingRow:
    """One message of the call's signaling, as the inspector lists it."""

    time_ms: float
    """Milliseconds since the call's first message."""
    direction: str
    type: str
    call: str
    """The call's id."""
    peer: str
    """Who a signal went to or came from (a user id), or ``""`` for a message about the call."""
    summary: str
    json: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One moment of a call's setup or life: milliseconds since its first message, a lane, what happened."""

    time_ms: float
    lane: str
    """``signaling`` (messages), ``SDP`` (its states), ``ICE``, ``DTLS``, ``connection``, ``media``, ``events``."""
    label: str


class AnnotatedSdp(list[SdpLine]):
    """The lines of one description with their meanings; shown as a table in notebooks (text escaped)."""

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{line.number}</td><td>{html.escape(line.section)}</td>"
            f"<td style='font-family:monospace;text-align:left'>{html.escape(line.line[:160])}</td>"
            f"<td style='text-align:left{'' if line.known else ';color:#a40'}'>{html.escape(line.meaning)}</td></tr>"
            for line in self
        )
        return f"<table><tr><th>#</th><th>section</th><th>line</th><th>meaning</th></tr>{rows}</table>"


@dataclass(frozen=True, slots=True)
class IceView:
    """ICE for one link: candidates, checks, the pair media flows over, and the state changes."""

    local_candidates: tuple[str, ...]
    remote_candidates: tuple[str, ...]
    checks: tuple[IceCheck, ...]
    selected_pair: tuple[str, str] | None
    states: tuple[tuple[float, str], ...]
    """(milliseconds since the call began, ICE connection state)."""

    @property
    def round_trip_ms(self) -> float | None:
        """The newest answered check's round trip."""
        answered = [c.rtt_ms for c in self.checks if c.rtt_ms is not None]
        return answered[-1] if answered else None


@dataclass(frozen=True, slots=True)
class DtlsView:
    """DTLS for one link, with the fingerprint the peer's SDP promised."""

    description: DtlsDescription
    sdp_fingerprint: str
    """The remote description's ``a=fingerprint`` (algorithm and value)."""
    handshake_ms: tuple[float, float] | None = None
    """When the handshake started and ended (milliseconds, as the rest of the inspector), once it has."""

    @property
    def fingerprint_matches(self) -> bool:
        """The certificate the peer presented is the one its SDP named."""
        return self.sdp_fingerprint.lower() == self.description.peer_fingerprint.lower()
