"""The inspector: a call seen from the inside, every layer of it (labkit; ``call.feature(Features.INSPECTOR)``).

chrome://webrtc-internals samples stats once a second and shows no packets; Wireshark sees
STUN and the DTLS handshake but not the SRTP inside. labkit owns the whole stack, so the
inspector shows each layer as it is:

- ``signaling()``: every message of the call to and from the service;
- ``descriptions()``, ``annotated_sdp()``, ``sdp_changes()``: each offer and answer, every
  line explained, and what a renegotiation changed;
- ``ice()``: the candidates, each connectivity check timed, the selected pair, the states;
- ``dtls()``: role, version, cipher, SRTP profile, and the certificate checked against the SDP;
- ``rtp()``, ``rtcp()``: the packets in the clear, once ``start_capture()`` is called;
- ``write_pcap()``: those packets for Wireshark and tshark, no keys needed;
- ``write_webrtc_internals()``: a chrome://webrtc-internals dump of labkit's connections;
- ``setup_timeline()``: where the setup time went (``plots`` draws it, and the signaling).

It reads the call through ``call.media`` only. Packet capture is off until asked for; the
rest is always kept (it is a few hundred records per call).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from aiortc import RTCStatsReport

from ..calling.features import Features, register_feature
from ..calling.remote_participant import RemoteParticipant
from ..errors import ArgumentError
from ..media.media_link import MediaLink
from ..media.packet_capture import DEFAULT_CAPACITY, CapturedPacket
from ..media.peer_connection import Description
from ..protocol.messages import IceCandidate, OfferRefused, SessionDescription, Signal
from . import packets as decode
from .inspector_views import AnnotatedSdp, DtlsView, IceView, SignalingRow, TimelineEntry
from .link_inspector import LinkInspector
from .pcap import write_pcap
from .webrtc_internals import UPDATE_EVENTS, ConnectionRecord, dump

if TYPE_CHECKING:
    from ..calling.call import Call

Participant = RemoteParticipant | str | None
STATS_INTERVAL = 1.0
"""Seconds between the inspector's ``getStats()`` samples (as chrome://webrtc-internals)."""
MAX_STATS_SAMPLES = 900
"""Samples kept per link: 15 minutes."""


class InspectorFeature:
    """``call.feature(Features.INSPECTOR)``: every layer of the call, from signaling to packets."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._media = call.media
        self._capacity = DEFAULT_CAPACITY
        self._capturing = False
        self._stats: dict[str, deque[tuple[float, RTCStatsReport]]] = {}
        self._known: dict[str, MediaLink] = dict(self._media.links)
        """Every link the call has had: after it ends (or a peer leaves), what they kept stays readable."""
        self._sampler: asyncio.Task[None] | None = None
        self._media.engine.call_soon(self._begin)

    async def dispose(self) -> None:
        """Stop sampling stats and capturing; what was kept stays readable."""
        self.stop_capture()
        await self._media.engine.cancel(self._sampler)

    # --- packets --------------------------------------------------------------------------

    @property
    def is_capturing(self) -> bool:
        return self._capturing

    def start_capture(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Keep each link's newest ``capacity`` RTP and RTCP packets from now on (a ring buffer)."""
        if capacity < 1:
            raise ArgumentError(f"capacity must be at least 1 packet, not {capacity}.")
        self._capacity, self._capturing = capacity, True
        self._apply()

    def stop_capture(self) -> None:
        """Stop keeping packets; those kept stay readable."""
        self._capturing = False
        self._apply()

    def link(self, participant: Participant = None) -> LinkInspector:
        """The inspector of one link: by default the only (or first) remote participant's."""
        return LinkInspector(self._link(participant), self._media.started_at)

    def packets(self, participant: Participant = None) -> list[CapturedPacket]:
        """The packets kept for one link, oldest first."""
        return self.link(participant).packets()

    def rtp(self, participant: Participant = None) -> list[decode.RtpHeader]:
        """The RTP packets kept for one link, their headers decoded."""
        return self.link(participant).rtp()

    def rtcp(self, participant: Participant = None) -> list[decode.RtcpReport]:
        """The RTCP packets kept for one link, decoded (SR, RR, SDES, BYE, NACK, PLI, FIR, REMB)."""
        return self.link(participant).rtcp()

    def capture_size(self) -> dict[str, int]:
        """Packets and bytes kept over all links, and packets pushed out of full buffers."""
        captures = [link.packet_capture for link in self._links().values()]
        return {
            "packets": sum(len(c) for c in captures),
            "bytes": sum(c.bytes_kept for c in captures),
            "dropped": sum(c.dropped for c in captures),
        }

    def write_pcap(self, path: str | Path) -> Path:
        """The packets kept, of every link, as a pcap file (see ``labkit.inspector.pcap``)."""
        links = [link.packet_capture.packets() for link in self._links().values()]
        return write_pcap(path, links, epoch=time.time() - time.monotonic())

    # --- signaling and SDP ------------------------------------------------------------------

    def signaling(self) -> list[SignalingRow]:
        """Every message of the call to and from the service, oldest first."""
        start = self._media.started_at
        rows = []
        for record in self._media.signaling:
            message = record.message
            peer = ""
            if isinstance(message, Signal):
                peer = (message.to if record.direction == "sent" else message.from_) or ""
            rows.append(
                SignalingRow(
                    time_ms=round((record.time - start) * 1000, 1),
                    direction=record.direction,
                    type=_type_of(message),
                    call=self._media.call_id,
                    peer=peer,
                    summary=_summary(message),
                    json=json.dumps(message.to_wire(), separators=(",", ":")),
                )
            )
        return rows

    def descriptions(self, participant: Participant = None) -> list[Description]:
        """Each session description applied on one link, local and remote, in order."""
        return self.link(participant).descriptions()

    def annotated_sdp(self, participant: Participant = None, index: int = -1) -> AnnotatedSdp:
        """One description of one link (by default the newest) with every line explained."""
        return self.link(participant).annotated_sdp(index)

    def sdp_changes(self, participant: Participant = None, side: str = "local") -> list[list[str]]:
        """For each renegotiation of one link, the lines that changed in ``side``'s description."""
        return self.link(participant).sdp_changes(side)

    def ice(self, participant: Participant = None) -> IceView:
        """Candidates, checks, the selected pair and the ICE states of one link."""
        return self.link(participant).ice()

    def dtls(self, participant: Participant = None) -> DtlsView:
        """The DTLS handshake's outcome on one link, with the fingerprint the peer's SDP gave."""
        return self.link(participant).dtls()

    def setup_timeline(self) -> list[TimelineEntry]:
        """Where the time went: signaling, ICE, DTLS, first RTP, first decoded frame and media events.

        Milliseconds since the call's first message, in order, for every link of the call.
        """
        media = self._media
        start = media.started_at
        entries = [TimelineEntry(row.time_ms, "signaling", f"{row.direction} {row.type}") for row in self.signaling()]
        links = self._links()
        several = len(links) > 1
        for user_id, link in links.items():
            name = _name(media.participants.get(user_id), user_id)
            prefix = f"{name}: " if several else ""
            for at, what, state in link.timeline:
                lane = _LANES.get(what, what)
                entries.append(TimelineEntry(_ms(at, start), lane, f"{prefix}{what} {state}"))
            for kind, counter in link.received.items():
                if counter.first_packet_at is not None:
                    entries.append(
                        TimelineEntry(_ms(counter.first_packet_at, start), "media", f"first {kind} RTP from {name}")
                    )
            participant = media.participants.get(user_id)
            streams = participant.video_streams if participant is not None else ()
            if streams and streams[0].first_frame_at is not None:
                entries.append(
                    TimelineEntry(_ms(streams[0].first_frame_at, start), "media", f"first frame from {name}")
                )
        entries += [TimelineEntry(_ms(at, start), "events", label) for at, label in media.events if at >= start]
        return sorted(entries, key=lambda entry: entry.time_ms)

    def write_webrtc_internals(self, path: str | Path) -> Path:
        """The call's connections as a chrome://webrtc-internals dump (JSON), from labkit's own records.

        It holds each connection's updates (descriptions set, state changes) and its
        ``getStats()`` once a second since the inspector was made, for webrtc-dump-importer
        and the like.
        """
        epoch = time.time() - time.monotonic()
        records = []
        for user_id, link in self._links().items():
            updates: list[tuple[float, str, str]] = [
                (epoch + d.time, f"set{d.side.capitalize()}Description", f"type: {d.type}, sdp: {d.sdp}")
                for d in link.descriptions
            ]
            updates += [(epoch + at, UPDATE_EVENTS.get(what, what), state) for at, what, state in link.timeline]
            configuration = link.configuration
            servers = [{"urls": server.urls} for server in configuration.iceServers or []]
            records.append(
                ConnectionRecord(
                    name=_name(self._media.participants.get(user_id), user_id),
                    updates=sorted(updates),
                    stats=list(self._stats.get(user_id, ())),
                    configuration={"iceServers": servers, "bundlePolicy": str(configuration.bundlePolicy.value)},
                )
            )
        target = Path(path)
        target.write_text(json.dumps(dump(records, url=f"labkit://call/{self._media.call_id}"), indent=1))
        return target

    # --- CallFeature hooks ------------------------------------------------------------------

    def on_participants_changed(self) -> None:
        """A new link captures too, if capture is on (CallFeature hook)."""
        self._apply()

    def on_call_ended(self) -> None:
        """Stop capturing and sampling; what was kept stays readable (CallFeature hook)."""
        self._capturing = False
        self._apply()
        if self._sampler is not None:
            self._sampler.cancel()

    # --- internals --------------------------------------------------------------------------

    def _begin(self) -> None:
        self._sampler = asyncio.get_running_loop().create_task(self._sample(), name="labkit-inspector-stats")

    async def _sample(self) -> None:
        """``getStats()`` of each link every ``STATS_INTERVAL`` (engine thread), for the webrtc-internals dump."""
        while True:
            for user_id, link in self._media.links.items():
                try:
                    report = await link.get_stats()
                except Exception:  # a link closing meanwhile
                    continue
                self._stats.setdefault(user_id, deque(maxlen=MAX_STATS_SAMPLES)).append((time.time(), report))
            await asyncio.sleep(STATS_INTERVAL)

    def _links(self) -> dict[str, MediaLink]:
        """The call's links now, and those it had before (for a call that ended, all of them)."""
        self._known.update(self._media.links)
        return dict(self._known)

    def _apply(self) -> None:
        self._known.update(self._media.links)
        for link in self._media.links.values():
            capture = link.packet_capture
            if capture.capacity != self._capacity:
                capture.capacity = self._capacity
            if self._capturing:
                capture.start()
            else:
                capture.stop()

    def _link(self, participant: Participant) -> MediaLink:
        return self._media.link_of(participant, self._links())


_LANES = {"ice": "ICE", "ice-gathering": "ICE", "signaling": "SDP", "dtls": "DTLS", "connection": "connection"}
"""The setup timeline's lane for each kind of state change of a link."""


def _ms(at: float, start: float) -> float:
    return round((at - start) * 1000, 1)


def _name(participant: RemoteParticipant | None, user_id: str) -> str:
    return participant.display_name if participant is not None and participant.display_name else user_id


def _type_of(message: object) -> str:
    kind = str(getattr(message, "type", type(message).__name__))
    if isinstance(message, Signal):
        return f"{kind}:{message.payload.kind}"
    return kind


def _summary(message: object) -> str:
    if isinstance(message, Signal):
        payload = message.payload
        if isinstance(payload, SessionDescription):
            lines = payload.sdp.count("\n")
            media = [line.split()[0][2:] for line in payload.sdp.splitlines() if line.startswith("m=")]
            return f"{payload.kind}: {lines} SDP lines, m-lines {', '.join(media)}"
        if isinstance(payload, IceCandidate):
            return f"candidate {payload.candidate[:60]}" if payload.candidate else "end of candidates"
        if isinstance(payload, OfferRefused):
            return f"refused: {payload.message[:80]}"
        return payload.kind
    fields = {k: v for k, v in getattr(message, "__dict__", {}).items() if k not in ("type", "ref", "call_id")}
    parts = []
    for name, value in fields.items():
        if hasattr(value, "user_id") and hasattr(value, "state"):  # a participant: who, and in what state
            parts.append(f"{name}={value.display_name or value.user_id} ({value.state.value})")
        elif hasattr(value, "code") and hasattr(value, "sub_code"):  # an end reason
            parts.append(f"{name}={value.code}/{value.sub_code}")
        elif not isinstance(value, list | dict) and value is not None:
            parts.append(f"{name}={value}")
    return ", ".join(parts)[:120]


register_feature(Features.INSPECTOR, InspectorFeature)
