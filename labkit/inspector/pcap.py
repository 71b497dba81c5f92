"""Writing captured packets to a pcap file that Wireshark and tshark read with no keys (labkit).

Each clear RTP or RTCP packet is written as the payload of a UDP datagram between two
made-up loopback endpoints per link (labkit's side on ``LOCAL_PORT``, the peer's on
``REMOTE_PORT + 2 * link``), inside IPv4 and Ethernet headers, in the classic pcap format.
Decode it with ``tshark -r call.pcap -d udp.port==5004,rtp`` (the RTCP dissector then
finds RTCP by its packet types).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from ..media.packet_capture import CapturedPacket

LOCAL_PORT = 5004
REMOTE_PORT = 6004
LOCAL_ADDRESS = bytes([127, 0, 0, 1])
REMOTE_ADDRESS = bytes([127, 0, 0, 2])
_GLOBAL_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET


def write_pcap(path: str | Path, links: Sequence[Sequence[CapturedPacket]], epoch: float) -> Path:
    """Write each link's packets (link ``i`` on remote port ``REMOTE_PORT + 2 * i``), in time order.

    ``epoch`` is the wall-clock time (``time.time()``) of ``time.monotonic() == 0``, so that
    the file's timestamps are real dates.
    """
    target = Path(path)
    frames = sorted(
        ((packet.time, index, packet) for index, packets in enumerate(links) for packet in packets),
        key=lambda item: (item[0], item[1]),
    )
    with target.open("wb") as out:
        out.write(_GLOBAL_HEADER)
        for at, index, packet in frames:
            remote_port = REMOTE_PORT + 2 * index
            if packet.direction == "sent":
                frame = _ethernet(LOCAL_ADDRESS, LOCAL_PORT, REMOTE_ADDRESS, remote_port, packet.data)
            else:
                frame = _ethernet(REMOTE_ADDRESS, remote_port, LOCAL_ADDRESS, LOCAL_PORT, packet.data)
            stamp = epoch + at
            seconds = int(stamp)
            out.write(struct.pack("<IIII", seconds, int((stamp - seconds) * 1e6), len(frame), len(frame)))
            out.write(frame)
    return target


def _ethernet(source: bytes, source_port: int, destination: bytes, destination_port: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, source, destination)
    ip = header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + udp
    return b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)
