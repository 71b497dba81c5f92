"""Negotiation between two real PeerLinks over an in-memory signaling path (no service)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from labkit.errors import ErrorCode, LabkitError
from labkit.media.peer_link import unacceptable
from labkit.protocol.messages import SessionDescription

from ..helpers import LinkPair, eventually


@pytest.fixture
async def pair() -> AsyncIterator[LinkPair]:
    links = LinkPair()
    yield links
    await links.close()


def directions(sdp: str) -> list[str]:
    return [line[2:] for line in sdp.splitlines() if line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")]


async def test_the_first_offer_is_answered_and_both_sides_send_opus_and_vp8(pair: LinkPair) -> None:
    await pair.a.offer()
    await eventually(lambda: pair.kinds("b") == ["answer"], what="the answer")
    assert pair.kinds("a") == ["offer"]
    for link in (pair.a, pair.b):
        codecs = link.negotiated_codecs()
        assert [c.mimeType for c in codecs["audio"]] == ["audio/opus"]
        assert codecs["video"][0].mimeType == "video/VP8"
        assert directions(link.pc.localDescription.sdp) == ["sendrecv", "sendrecv"]
    assert pair.errors == []


async def test_the_answerer_never_offers_it_asks_the_offerer(pair: LinkPair) -> None:
    await pair.a.offer()
    await eventually(lambda: pair.kinds("b") == ["answer"], what="the answer")
    await pair.b.set_held(True)  # the answerer holds: it asks, and answers the offer that comes
    assert pair.kinds("b") == ["answer", "negotiation-needed", "answer"]
    assert pair.kinds("a") == ["offer", "offer"]
    assert directions(pair.b.pc.localDescription.sdp) == ["sendonly", "sendonly"]
    assert [t.currentDirection for t in pair.a.pc.getTransceivers()] == ["recvonly", "recvonly"]
    await pair.b.set_held(False)
    assert directions(pair.b.pc.localDescription.sdp) == ["sendrecv", "sendrecv"]
    assert pair.errors == []


async def test_a_re_offer_keeps_the_payload_types_of_the_first_negotiation(pair: LinkPair) -> None:
    await pair.a.offer()
    await eventually(lambda: pair.kinds("b") == ["answer"], what="the answer")
    first = {kind: [c.payloadType for c in codecs] for kind, codecs in pair.a.negotiated_codecs().items()}
    await pair.a.set_held(True)
    await pair.a.set_held(False)
    again = {kind: [c.payloadType for c in codecs] for kind, codecs in pair.a.negotiated_codecs().items()}
    assert again == first
    assert pair.kinds("a") == ["offer", "offer", "offer"]


async def test_an_offer_without_vp8_is_refused_with_a_reason_and_the_refusal_raises(pair: LinkPair) -> None:
    await pair.a.offer()
    await eventually(lambda: pair.kinds("b") == ["answer"], what="the answer")
    vp9_only = pair.a.pc.localDescription.sdp.replace("VP8/90000", "VP9/90000")
    with pytest.raises(LabkitError) as refused:
        await pair.b.handle(SessionDescription(kind="offer", sdp=vp9_only))
    assert refused.value.code is ErrorCode.OFFER_NOT_ACCEPTABLE
    assert "offers rtx, vp9, and labkit takes only VP8 or H264" in refused.value.message
    await eventually(lambda: pair.kinds("b")[-1:] == ["error"], what="the refusal")
    await asyncio.sleep(0.05)
    assert [type(e) for e in pair.errors] == [LabkitError]  # a's handle() raised the refusal it got


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda sdp: sdp.replace("a=rtcp-mux\r\n", ""), "has no a=rtcp-mux"),
        (lambda sdp: sdp.replace("opus/48000/2", "PCMU/8000"), "its audio m-line offers pcmu"),
        (lambda sdp: sdp.replace("VP8/90000", "AV1/90000"), "its video m-line offers av1, rtx"),
    ],
)
async def test_unacceptable_says_what_is_wrong(pair: LinkPair, change: object, problem: str) -> None:
    await pair.a.offer()
    sdp = pair.a.pc.localDescription.sdp
    assert unacceptable(sdp) is None
    verdict = unacceptable(change(sdp))  # type: ignore[operator]
    assert verdict is not None
    assert problem in verdict
