"""Capturing a link's RTP and RTCP as they are before SRTP encrypts them (labkit).

Wireshark sees a WebRTC call's STUN and DTLS handshake, but SRTP hides every RTP and RTCP
packet from it. labkit holds the keys, so it can keep the packets in the clear: the DTLS
transport hands each packet it sends (just before ``protect``) and each it receives (just
after ``unprotect``) to its link's ``PacketCapture``, which keeps the newest ``capacity``
of them in a ring buffer while it is on. Off, it costs one attribute test per packet.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from aiortc.rtp import is_rtcp

PacketDirection = Literal["sent", "received"]
DEFAULT_CAPACITY = 20_000
"""Packets kept per link: about 40 s of a 640x480 video call (both directions), some 25 MB at most."""


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """One RTP or RTCP packet in the clear, with when it crossed the DTLS transport."""

    time: float
    """``time.monotonic()`` when it was sent or received."""
    direction: PacketDirection
    data: bytes

    @property
    def is_rtcp(self) -> bool:
        return is_rtcp(self.data)


class PacketCapture:
    """A ring buffer of one link's clear RTP and RTCP packets, on and off at will."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._packets: deque[CapturedPacket] = deque(maxlen=self._checked(capacity))
        self.is_on = False
        self.dropped = 0
        """Packets pushed out of the full ring buffer so far."""
        self.bytes_kept = 0

    @staticmethod
    def _checked(capacity: int) -> int:
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"a packet capture holds at least 1 packet, not {capacity!r}")
        return capacity

    @property
    def capacity(self) -> int:
        return self._packets.maxlen or 0

    @capacity.setter
    def capacity(self, capacity: int) -> None:
        kept = list(self._packets)[-self._checked(capacity) :]
        self._packets = deque(kept, maxlen=capacity)
        self.bytes_kept = sum(len(p.data) for p in kept)

    def start(self) -> None:
        self.is_on = True

    def stop(self) -> None:
        self.is_on = False

    def clear(self) -> None:
        self._packets.clear()
        self.bytes_kept = 0
        self.dropped = 0

    def record(self, direction: PacketDirection, data: bytes) -> None:
        """Keep ``data`` if the capture is on (the DTLS transport calls this, engine thread)."""
        if not self.is_on:
            return
        if len(self._packets) == self._packets.maxlen:
            self.dropped += 1
            self.bytes_kept -= len(self._packets[0].data)
        self._packets.append(CapturedPacket(time.monotonic(), direction, bytes(data)))
        self.bytes_kept += len(data)

    def packets(self) -> list[CapturedPacket]:
        """The packets kept, oldest first (a copy)."""
        return list(self._packets)

    def __len__(self) -> int:
        return len(self._packets)
