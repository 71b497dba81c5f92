"""The inspector's pure parts on real data: SDP explained line by line, packets decoded, a pcap tshark reads."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labkit.inspector import annotate, diff
from labkit.inspector.packets import decode_rtcp, decode_rtp, extensions_map, kinds_by_payload_type
from labkit.inspector.pcap import LOCAL_PORT, write_pcap

from ..helpers import LinkPair, eventually


@pytest.fixture
async def flowing() -> AsyncIterator[LinkPair]:
    """Two real PeerLinks with media flowing both ways, captured from the start."""
    pair = LinkPair()
    pair.a.packet_capture.start()
    pair.b.packet_capture.start()
    await pair.a.offer()
    await eventually(lambda: pair.a.connection_state == pair.b.connection_state == "connected", 10, "connected")
    await eventually(lambda: pair.a.received.get("video") is not None and pair.a.received["video"].frames > 10, 10)
    yield pair
    await pair.close()


async def test_every_line_of_a_labkit_offer_and_answer_is_explained(flowing: LinkPair) -> None:
    for description in flowing.a.descriptions:
        lines = annotate(description.sdp)
        assert len(lines) == len([x for x in description.sdp.splitlines() if x.strip()])
        unknown = [line.line for line in lines if not line.known]
        assert unknown == [], unknown
    offer = annotate(flowing.a.descriptions[0].sdp)
    meanings = {line.line.split(":")[0].split("=")[0] + "=": line.meaning for line in offer}
    assert "BUNDLE" in next(line.meaning for line in offer if line.line.startswith("a=group:BUNDLE"))
    assert "payload type" in next(line.meaning for line in offer if line.line.startswith("a=rtpmap:"))
    candidate = next(line.meaning for line in offer if line.line.startswith("a=candidate:"))
    assert "127.0.0.1" in candidate
    assert "host" in candidate
    assert "type preference 126" in candidate
    assert "m=" in meanings


def test_an_unknown_attribute_is_kept_and_labelled() -> None:
    lines = annotate("v=0\r\na=x-custom:42\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nzz\r\n")
    assert [(line.line, line.known) for line in lines] == [
        ("v=0", True),
        ("a=x-custom:42", False),
        ("m=audio 9 UDP/TLS/RTP/SAVPF 111", True),
        ("zz", False),
    ]
    assert "does not know (a=x-custom)" in lines[1].meaning
    assert lines[2].section == "audio 0"


async def test_a_hold_shows_as_a_direction_change_in_the_sdp_diff(flowing: LinkPair) -> None:
    await flowing.a.set_held(True)
    offers = [d.sdp for d in flowing.a.descriptions if d.side == "local"]
    changed = diff(offers[0], offers[-1])
    assert "-a=sendrecv" in changed
    assert "+a=sendonly" in changed


async def test_captured_rtp_matches_the_counters_and_has_no_gap(flowing: LinkPair) -> None:
    link = flowing.a
    await asyncio.sleep(1.0)
    link.packet_capture.stop()
    counters = {kind: counter.packets for kind, counter in link.received.items()}
    headers = decode_rtp(
        link.packet_capture.packets(),
        kinds_by_payload_type(link.negotiated_codecs()),
        extensions_map(link.negotiated_header_extensions()),
    )
    received = [h for h in headers if h.direction == "received"]
    for kind in ("audio", "video"):
        assert len([h for h in received if h.kind == kind]) == counters[kind]
        numbers = [h.sequence_number for h in received if h.kind == kind]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # every number, none missing
    video = [h for h in received if h.kind == "video"]
    assert sum(h.marker for h in video) == link.received["video"].frames  # one marker per frame
    assert {h.mid for h in received} == {"0", "1"}
    audio = [h for h in headers if h.kind == "audio" and h.direction == "sent"]
    assert all(h.audio_level is not None for h in audio)
    assert {r.type for r in decode_rtcp(link.packet_capture.packets())} >= {"SR", "RR", "SDES"}


async def test_the_pcap_reads_back_in_tshark_as_rtp(flowing: LinkPair, tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed here (Debian: apt-get install tshark; make test installs it)")
    link = flowing.a
    link.packet_capture.stop()
    path = write_pcap(tmp_path / "call.pcap", [link.packet_capture.packets()], epoch=0.0)
    command = [
        tshark,
        "-r",
        str(path),
        "-d",
        f"udp.port=={LOCAL_PORT},rtp",
        "-T",
        "fields",
        "-e",
        "rtp.ssrc",
        "-e",
        "rtp.seq",
    ]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    fields = [line.split("\t") for line in result.stdout.splitlines()]
    seen = {(int(ssrc, 16), int(seq)) for ssrc, seq in fields if ssrc}
    headers = decode_rtp(
        link.packet_capture.packets(),
        kinds_by_payload_type(link.negotiated_codecs()),
        extensions_map(link.negotiated_header_extensions()),
    )
    assert seen == {(h.ssrc, h.sequence_number) for h in headers}
    assert len(seen) > 100
