"""PeerConnection's re-offers keep what the first negotiation chose (aiortc would renumber)."""

from __future__ import annotations

import re

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from labkit.media.ice import rtc_configuration
from labkit.media.peer_connection import PeerConnection
from labkit.media.peer_link import PeerLink


def lines(sdp: str, prefix: str) -> list[str]:
    return [line for line in sdp.split("\r\n") if line.startswith(prefix)]


async def test_a_re_offer_keeps_the_peers_payload_types_and_extension_ids() -> None:
    """The peer offered first with numbers of its own (as Firefox and Chromium do)."""
    peer = RTCPeerConnection(rtc_configuration())  # no STUN server, loopback candidates only
    for track in (AudioStreamTrack(), VideoStreamTrack()):  # Opus, VP8 and rtx only: 96, 97, 98
        PeerLink.prefer_codecs(peer.addTransceiver(track, direction="sendrecv"))
    await peer.setLocalDescription(await peer.createOffer())
    offer = peer.localDescription.sdp
    # renumber as a browser would: Opus 111, VP8 100 (rtx 101), extension ids shifted by 5
    renumbered = offer
    for old, new in (("96", "111"), ("97", "100"), ("98", "101")):
        renumbered = re.sub(rf"(?<=[ :]){old}(?=[ \r/])", new, renumbered)
        renumbered = renumbered.replace(f"apt={old}", f"apt={new}")
    renumbered = re.sub(r"a=extmap:(\d+)", lambda m: f"a=extmap:{int(m[1]) + 5}", renumbered)
    ours = PeerConnection(rtc_configuration())
    await ours.setRemoteDescription(RTCSessionDescription(renumbered, "offer"))
    for transceiver in ours.getTransceivers():
        transceiver.direction = "sendrecv"
    await ours.setLocalDescription(await ours.createAnswer())

    again = (await ours.createOffer()).sdp
    assert lines(again, "a=rtpmap:111 opus"), lines(again, "a=rtpmap")
    assert lines(again, "a=rtpmap:100 VP8"), lines(again, "a=rtpmap")
    assert lines(again, "a=extmap:") == [
        line for line in lines(renumbered, "a=extmap:") if line in lines(ours.localDescription.sdp, "a=extmap:")
    ]
    assert not lines(again, "a=rtpmap:96 "), "aiortc's own numbers must not come back"
    assert [line.split(" ", 3)[3] for line in lines(again, "m=")] == ["111", "100 101"]
    plain = RTCPeerConnection(rtc_configuration())  # what aiortc alone would re-offer
    await plain.setRemoteDescription(RTCSessionDescription(renumbered, "offer"))
    for transceiver in plain.getTransceivers():
        transceiver.direction = "sendrecv"
    await plain.setLocalDescription(await plain.createAnswer())
    assert lines((await plain.createOffer()).sdp, "a=rtpmap:96 opus"), "aiortc renumbers (the fault worked around)"
    for pc in (peer, ours, plain):
        await pc.close()
