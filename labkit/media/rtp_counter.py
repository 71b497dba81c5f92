"""Counting what arrives: aiortc's ``getStats()`` has no received byte count, so we count at the receiver.

The DTLS transport hands each decrypted RTP packet to ``receiver._handle_rtp_packet``; a
counter wraps that one method of one receiver instance (no class is patched) and adds the
packet's size before passing it on. The cost is an addition per packet.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpReceiver


class RtpReceiveCounter:
    """Packets, bytes (RTP payload plus padding) and frames received by one ``RTCRtpReceiver``.

    A video frame ends with the packet whose marker bit is set, so ``frames`` counts those.
    """

    def __init__(self, receiver: RTCRtpReceiver, on_packet: Callable[[], None] | None = None) -> None:
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.first_packet_at: float | None = None
        """``time.monotonic()`` of the first packet."""
        inner: Callable[..., Awaitable[None]] = receiver._handle_rtp_packet

        async def counted(packet: Any, arrival_time_ms: int) -> None:
            if self.first_packet_at is None:
                self.first_packet_at = time.monotonic()
            self.packets += 1
            self.bytes += len(packet.payload) + packet.padding_size
            self.frames += packet.marker
            if on_packet is not None:
                on_packet()
            await inner(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = counted  # type: ignore[method-assign]
