"""One media link seen from the inside: its SDP, ICE, DTLS and packets (labkit).

``InspectorFeature.link(participant)`` gives one for each remote participant of a call;
``inspect_bridge(device_manager)`` one for the browser bridge's connection to its notebook
page. Both read a ``MediaLink``, so they show any peer the same way.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from pathlib import Path

from ..calling.device_manager import DeviceManager
from ..errors import ArgumentError
from ..media.media_link import MediaLink
from ..media.packet_capture import DEFAULT_CAPACITY, CapturedPacket
from ..media.peer_connection import Description
from . import packets as decode
from .inspector_views import AnnotatedSdp, DtlsView, IceView
from .pcap import write_pcap
from .sdp_annotation import annotate, diff


class LinkInspector:
    """The layers of ``link``; times are milliseconds since ``started_at`` (a ``time.monotonic()``)."""

    def __init__(self, link: MediaLink, started_at: float) -> None:
        self.media_link = link
        self.started_at = started_at

    # --- packets --------------------------------------------------------------------------

    @property
    def is_capturing(self) -> bool:
        return self.media_link.packet_capture.is_on

    def start_capture(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Keep this link's newest ``capacity`` RTP and RTCP packets from now on (a ring buffer)."""
        if capacity < 1:
            raise ArgumentError(f"capacity must be at least 1 packet, not {capacity}.")
        capture = self.media_link.packet_capture
        if capture.capacity != capacity:
            capture.capacity = capacity
        capture.start()

    def stop_capture(self) -> None:
        """Stop keeping packets; those kept stay readable."""
        self.media_link.packet_capture.stop()

    def packets(self) -> list[CapturedPacket]:
        """The packets kept, oldest first."""
        return self.media_link.packet_capture.packets()

    def rtp(self) -> list[decode.RtpHeader]:
        """The RTP packets kept, their headers decoded."""
        link = self.media_link
        kinds = decode.kinds_by_payload_type(link.negotiated_codecs())
        extensions = decode.extensions_map(link.negotiated_header_extensions())
        return decode.decode_rtp(link.packet_capture.packets(), kinds, extensions)

    def rtcp(self) -> list[decode.RtcpReport]:
        """The RTCP packets kept, decoded (SR, RR, SDES, BYE, NACK, PLI, FIR, REMB)."""
        return decode.decode_rtcp(self.media_link.packet_capture.packets())

    def write_pcap(self, path: str | Path) -> Path:
        """The packets kept as a pcap file (see ``labkit.inspector.pcap``)."""
        return write_pcap(path, [self.packets()], epoch=time.time() - time.monotonic())

    # --- SDP, ICE, DTLS -------------------------------------------------------------------

    def descriptions(self) -> list[Description]:
        """Each session description applied, local and remote, in order."""
        return list(self.media_link.descriptions)

    def annotated_sdp(self, index: int = -1) -> AnnotatedSdp:
        """One description (by default the newest) with every line explained."""
        found = self.descriptions()
        if not found:
            raise ArgumentError("No session description has been applied on that link yet.")
        return AnnotatedSdp(annotate(found[index].sdp))

    def sdp_changes(self, side: str = "local") -> list[list[str]]:
        """For each renegotiation, the lines that changed in ``side``'s description since the one before."""
        found = [d.sdp for d in self.descriptions() if d.side == side]
        return [diff(before, after) for before, after in itertools.pairwise(found)]

    def ice(self) -> IceView:
        """Candidates, checks, the selected pair and the ICE states."""
        link = self.media_link
        local, remote = _candidates(link.descriptions)
        selected = link.selected_candidate_pair()
        pair = (
            (f"{selected[0].host}:{selected[0].port} {selected[0].type}", f"{selected[1].host}:{selected[1].port}")
            if selected is not None
            else None
        )
        states = tuple((self.ms(at), state) for at, what, state in link.timeline if what == "ice")
        return IceView(local, remote, tuple(link.ice_checks.checks), pair, states)

    def dtls(self) -> DtlsView:
        """The DTLS handshake's outcome, with the fingerprint the peer's SDP gave."""
        link = self.media_link
        description = link.dtls()
        if description is None:
            raise ArgumentError("That link has no DTLS transport yet.")
        remote = [d for d in link.descriptions if d.side == "remote"]
        fingerprint = ""
        for line in (remote[-1].sdp if remote else "").splitlines():
            if line.startswith("a=fingerprint:"):
                fingerprint = line.removeprefix("a=fingerprint:").strip()
                break
        states = {state: at for at, what, state in link.timeline if what == "dtls"}
        began, ended = states.get("connecting"), states.get("connected")
        handshake = (self.ms(began), self.ms(ended)) if began is not None and ended is not None else None
        return DtlsView(description, fingerprint, handshake)

    def timeline(self) -> list[tuple[float, str, str]]:
        """(milliseconds, what, state) of each signaling, ICE, DTLS and connection state change."""
        return [(self.ms(at), what, state) for at, what, state in self.media_link.timeline]

    def ms(self, at: float) -> float:
        """``at`` (a ``time.monotonic()``) in milliseconds since ``started_at``."""
        return round((at - self.started_at) * 1000, 1)


def _candidates(descriptions: Sequence[Description]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found: dict[str, list[str]] = {"local": [], "remote": []}
    for description in descriptions:
        for line in description.sdp.splitlines():
            if line.startswith("a=candidate:") and line not in found[description.side]:
                found[description.side].append(line)
    return tuple(found["local"]), tuple(found["remote"])


def inspect_bridge(devices: DeviceManager) -> LinkInspector:
    """The browser bridge's connection to its notebook page (its camera in, kernel video out), from the inside."""
    page = devices.page
    link = page.media_link if page is not None else None
    if link is None:
        raise ArgumentError(
            "No notebook page is connected through the browser bridge.",
            "Show a BrowserMedia widget (labkit.widgets.BrowserMedia) and ask for devices first.",
        )
    first = link.descriptions[0].time if link.descriptions else time.monotonic()
    return LinkInspector(link, started_at=first)
