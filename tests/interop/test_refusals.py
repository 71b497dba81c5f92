"""An offer labkit cannot answer is refused at once, and both sides' calls end with 488/0.

The offerer here speaks the protocol by hand (``AgentSocket``); its offers are real aiortc
offers changed as another stack would make them: VP9 only, or no rtcp-mux.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from labkit import CallState
from labkit.media.ice import rtc_configuration
from labkit.service import EmbeddedService

from ..agent_socket import AgentSocket
from ..helpers import Factory


async def real_offer() -> str:
    pc = RTCPeerConnection(rtc_configuration())  # no STUN server, loopback candidates only
    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    pc.addTransceiver(VideoStreamTrack(), direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


def vp9_only(sdp: str) -> str:
    head, video = sdp.split("m=video", 1)
    video = re.sub(r"UDP/TLS/RTP/SAVPF [\d ]+", "UDP/TLS/RTP/SAVPF 98", video, count=1)
    video = "\r\n".join(
        line for line in video.split("\r\n") if not line.startswith(("a=rtpmap:", "a=rtcp-fb:", "a=fmtp:"))
    )
    video = video.replace("a=mid:1", "a=mid:1\r\na=rtpmap:98 VP9/90000", 1)
    return head + "m=video" + video


def no_rtcp_mux(sdp: str) -> str:
    return sdp.replace("a=rtcp-mux\r\n", "")


@pytest.mark.parametrize(
    ("spoil", "named"), [(vp9_only, "vp9"), (no_rtcp_mux, "rtcp-mux")], ids=["vp9-only", "no-rtcp-mux"]
)
async def test_an_unanswerable_offer_is_refused_and_both_calls_end_within_2_s(
    people: Factory, service: EmbeddedService, spoil: Callable[[str], str], named: str
) -> None:
    alice = await people("Alice")
    bob = await AgentSocket.signed_in(service.url, "bob")
    try:
        call = alice.agent.start_call([bob.user_id])
        incoming = await bob.expect("incoming-call")
        await bob.send(type="accept", callId=incoming["callId"], video=True)
        await bob.expect("roster")  # bob arrived, so bob offers
        sent = time.monotonic()
        offer = spoil(await real_offer())
        await bob.send(
            type="signal", callId=call.id, to=alice.agent.identifier.raw_id, payload={"kind": "offer", "sdp": offer}
        )
        refusal = None
        ended = None
        while ended is None:
            message = await bob.recv(timeout=2.0)
            if message["type"] == "signal" and message["payload"]["kind"] == "error":
                refusal = message["payload"]
            elif message["type"] == "call-ended":
                ended = message
        took = time.monotonic() - sent
        assert refusal is not None
        assert refusal["code"] == "offer-not-acceptable"
        assert named in refusal["message"].lower()
        assert "VP8" in refusal["hint"]
        assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (488, 0), ended
        await call.wait_for_state(CallState.DISCONNECTED.value, timeout=2.0)
        assert time.monotonic() - sent < 2.0
        assert took < 2.0
        reason = call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code) == (488, 0)
        assert named in reason.message.lower()
    finally:
        await bob.close()


async def test_a_refusal_from_the_peer_ends_labkits_call_with_its_reason(
    people: Factory, service: EmbeddedService
) -> None:
    """labkit offered; the peer cannot take it and says so: labkit's call ends 488 with the peer's words."""
    alice = await people("Alice")
    bob = await AgentSocket.signed_in(service.url, "bob")
    try:
        await bob.send(
            type="start-call",
            callId="2b0e8f6e-7c55-4d1c-9a57-3a8d1f0c2e11",
            participants=[alice.agent.identifier.raw_id],
            video=False,
        )
        await bob.expect("roster")
        call = await (await alice.agent.wait_for_incoming_call()).accept()
        while (message := await bob.recv())["type"] != "signal":
            pass
        assert message["payload"]["kind"] == "offer"  # alice arrived, so alice offers
        words = "The offer from alice cannot be answered: no codec in common."
        await bob.send(
            type="signal",
            callId=call.id,
            to=alice.agent.identifier.raw_id,
            payload={"kind": "error", "code": "offer-not-acceptable", "message": words},
        )
        await call.wait_for_state("Disconnected", timeout=2.0)
        reason = call.call_end_reason
        assert reason is not None
        assert (reason.code, reason.sub_code, reason.message) == (488, 0, words)
    finally:
        await asyncio.shield(bob.close())
