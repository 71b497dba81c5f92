"""Is the peer still there? The time since anything (RTP or RTCP) last arrived on a link.

ICE consent freshness (RFC 7675) gives up on a silent peer only after 30 s, and a frozen
process (SIGSTOP, a hung browser tab) keeps its TCP signaling connection open. Media and
RTCP stop at once, though: aiortc sends a sender report and a receiver report about every
second, even while a call is held, and so do browsers while media flows.
aiortc exposes no "packet received" event; like ``RtpReceiveCounter``, this wraps
``_handle_rtcp_packet`` on the link's own sender and receiver instances (no class is patched).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection

SUSPECT_SECONDS = 3.0
"""Silence after which a link counts as stalled (the diagnostics' ``network_reconnect`` turns Bad)."""
DEAD_SECONDS = 8.0
"""Silence after which the peer counts as gone, and the call ends with 410/3100."""


class LinkLiveness:
    """When the peer was last heard from on one peer connection."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last_heard = clock()
        self._watched: set[int] = set()

    def heard(self) -> None:
        """Something arrived from the peer just now."""
        self.last_heard = self._clock()

    def silence(self) -> float:
        """Seconds since the peer was last heard from."""
        return self._clock() - self.last_heard

    def watch(self, pc: RTCPeerConnection) -> None:
        """Count RTCP arriving for every sender and receiver of ``pc`` (new ones included at the next call)."""
        for transceiver in pc.getTransceivers():
            for end in (transceiver.sender, transceiver.receiver):
                if id(end) not in self._watched:
                    self._watched.add(id(end))
                    self._wrap(end)

    def _wrap(self, end: Any) -> None:
        inner: Callable[[Any], Awaitable[None]] = end._handle_rtcp_packet

        async def heard(packet: Any) -> None:
            self.last_heard = self._clock()
            await inner(packet)

        end._handle_rtcp_packet = heard
