#!/usr/bin/python3
"""A third-party labkit client on GStreamer's ``webrtcbin``, written from docs/protocol.md.

It is no part of labkit: it runs under Debian's ``/usr/bin/python3`` (for PyGObject and
GStreamer 1.22), talks to the service over its own WebSocket (python3-websockets), and
takes commands from a test as JSON lines on stdin, answering each with one JSON line on
stdout::

    {"op": "call", "to": USER_ID}       start a 1:1 video call
    {"op": "accept"}                     accept the ringing incoming call
    {"op": "hold"} / {"op": "resume"}    stop (or restart) all sending, and tell the others
    {"op": "mute"} / {"op": "unmute"}    silence the microphone, and tell the others
    {"op": "video", "on": false}         stop (or restart) sending video, and tell the others
    {"op": "hang-up"}
    {"op": "stats"}                      state, end reason, frames decoded, audio level
    {"op": "quit"}

``--setup active|passive|actpass`` rewrites the ``a=setup`` of its offers (webrtcbin's own
is ``actpass``), to try each DTLS role; ``--bad-fingerprint`` spoils their DTLS fingerprint.

**Hold.** webrtcbin 1.22 cannot change a transceiver's direction once negotiated ("transceiver
direction changes are not implemented"), except to ``inactive``, which it then never leaves.
So this client holds as such stacks must: it stops sending and says so (``isOnHold``),
without renegotiating; and while the peer holds, it sends nothing either. It refuses a peer's
``sendonly`` hold offer (webrtcbin keeps ``sendrecv``), which labkit tolerates.

Like every WebRTC stack it trickles its ICE candidates in ``candidate`` signals. It
gathers only 127.0.0.1: libnice skips loopback unless the address is added by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import threading
import time
import urllib.request
import uuid
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
import websockets  # noqa: E402
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

# the payload types labkit (aiortc) offers for Opus and VP8; webrtcbin sends what its caps say
AUDIO_PT, VIDEO_PT = 96, 97

PIPELINE = f"""
webrtcbin name=webrtc bundle-policy=max-bundle
audiotestsrc is-live=true wave=sine freq={{freq}} volume=0.3 ! audioconvert ! audioresample
  ! volume name=mic ! valve name=audio_valve drop=false ! opusenc ! rtpopuspay pt={AUDIO_PT}
  ! application/x-rtp,media=audio,encoding-name=OPUS,payload={AUDIO_PT} ! webrtc.
videotestsrc is-live=true pattern={{pattern}} name=camera ! video/x-raw,width=320,height=240,framerate=15/1
  ! videoconvert ! valve name=video_valve drop=false ! queue
  ! vp8enc deadline=1 target-bitrate=300000 keyframe-max-dist=15 error-resilient=partitions
  ! rtpvp8pay pt={VIDEO_PT} picture-id-mode=15-bit
  ! application/x-rtp,media=video,encoding-name=VP8,payload={VIDEO_PT} ! webrtc.
"""


def emit(**message: Any) -> None:
    print(json.dumps(message), flush=True)


class Client:
    def __init__(self, base: str, name: str, setup: str, freq: int, pattern: str, bad_fingerprint: bool) -> None:
        self.base = base
        self.bad_fingerprint = bad_fingerprint
        self.name = name
        self.setup = setup
        self.loop = asyncio.get_running_loop()
        self.ws: Any = None
        self.user_id = ""
        self.call_id: str | None = None
        self.peer: str | None = None
        self.incoming: dict[str, Any] | None = None
        self.state = "None"
        self.end_reason: dict[str, Any] | None = None
        self.errors: list[dict[str, Any]] = []
        self.first_offerer: bool | None = None  # this side sent the link's first offer
        self.held = False
        self.video_frames = 0
        self.audio_buffers = 0
        self.audio_level = -100.0
        self.audio_level_at = 0.0
        self.connection_state = "new"
        self.pipe = Gst.parse_launch(PIPELINE.format(freq=freq, pattern=pattern))
        self.webrtc = self.pipe.get_by_name("webrtc")
        self.mic = self.pipe.get_by_name("mic")
        self.valve = self.pipe.get_by_name("video_valve")
        self.audio_valve = self.pipe.get_by_name("audio_valve")
        self.video_on = True
        self.peer_held = False
        # libnice gathers no loopback address; add 127.0.0.1 (and only it) by hand. webrtcbin
        # 1.22 hands out its ICE object without a reference, so keep one here.
        self.ice = self.webrtc.get_property("ice-agent")
        self.nice = self.ice.get_property("agent")
        address = Nice.Address.new()
        address.set_from_string("127.0.0.1")
        self.nice.add_local_address(address)
        self.webrtc.connect("on-ice-candidate", self._on_candidate)
        self.webrtc.connect("pad-added", self._on_pad)
        self.webrtc.connect("notify::connection-state", self._on_connection_state)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_bus)
        self.pipe.set_state(Gst.State.PLAYING)

    # --- GStreamer side (GLib thread) ---------------------------------------------------

    def _on_bus(self, _bus: Any, message: Any) -> None:
        if message.type == Gst.MessageType.ELEMENT and message.get_structure().get_name() == "level":
            peaks = message.get_structure().get_value("rms")
            if peaks:
                self.audio_level, self.audio_level_at = max(peaks), time.monotonic()
        elif message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            sys.stderr.write(f"gst error: {error.message} {debug}\n")

    def _on_connection_state(self, *_: Any) -> None:
        self.connection_state = self.webrtc.get_property("connection-state").value_nick

    def _on_pad(self, _element: Any, pad: Any) -> None:
        if pad.direction != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self._on_decoded)
        self.pipe.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def _on_decoded(self, _element: Any, pad: Any) -> None:
        caps = pad.get_current_caps().to_string()
        if caps.startswith("video"):
            chain = "queue ! videoconvert ! fakesink name=vsink signal-handoffs=true sync=false"
        else:
            chain = "queue ! audioconvert ! level interval=100000000 post-messages=true ! fakesink sync=false"
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.pipe.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))
        if caps.startswith("video"):
            bin_.get_by_name("vsink").connect("handoff", self._count_video)
        else:
            bin_.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self._count_audio)

    def _count_video(self, *_: Any) -> None:
        self.video_frames += 1

    def _count_audio(self, *_: Any) -> Any:
        self.audio_buffers += 1
        return Gst.PadProbeReturn.OK

    def _on_candidate(self, _element: Any, index: int, candidate: str) -> None:
        payload = {"kind": "candidate", "candidate": candidate, "sdpMid": str(index), "sdpMLineIndex": index}
        self._threadsafe(self.signal(payload))

    def _threadsafe(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def _promise(self, then: Any) -> Gst.Promise:
        return Gst.Promise.new_with_change_func(lambda promise, *_: then(promise.get_reply()), None)

    # --- negotiation ---------------------------------------------------------------------

    def _sending(self) -> None:
        """Send nothing while either side holds; video only while it is on."""
        quiet = self.held or self.peer_held
        self.audio_valve.set_property("drop", quiet)
        self.valve.set_property("drop", quiet or not self.video_on)

    async def offer(self) -> None:
        """Offer, or (the side that answered first) ask the peer to offer."""
        if self.first_offerer is False:
            await self.signal({"kind": "negotiation-needed"})
            return
        if self.first_offerer is None:
            self.first_offerer = True
        created: asyncio.Future[str] = self.loop.create_future()

        def on_offer(reply: Any) -> None:
            offer = reply.get_value("offer")
            self.webrtc.emit("set-local-description", offer, None)
            text = offer.sdp.as_text()
            if self.setup != "actpass":
                text = text.replace("a=setup:actpass", f"a=setup:{self.setup}")
            if self.bad_fingerprint:  # the DTLS handshake must then fail, after ICE succeeded
                text = re.sub(
                    r"(a=fingerprint:sha-256 )(\S{2})", lambda m: m[1] + ("11" if m[2] == "00" else "00"), text
                )
            self.loop.call_soon_threadsafe(created.set_result, text)

        self.webrtc.emit("create-offer", None, self._promise(on_offer))
        await self.signal({"kind": "offer", "sdp": await created})

    def _description(self, kind: GstWebRTC.WebRTCSDPType, sdp: str) -> Any:
        _, message = GstSdp.SDPMessage.new_from_text(sdp)
        return GstWebRTC.WebRTCSessionDescription.new(kind, message)

    async def on_signal(self, payload: dict[str, Any]) -> None:
        kind = payload["kind"]
        if kind == "candidate":
            if payload.get("candidate"):
                self.webrtc.emit("add-ice-candidate", payload.get("sdpMLineIndex") or 0, payload["candidate"])
        elif kind == "negotiation-needed":
            await self.offer()
        elif kind == "answer":
            self.webrtc.emit(
                "set-remote-description", self._description(GstWebRTC.WebRTCSDPType.ANSWER, payload["sdp"]), None
            )
        elif kind == "offer":
            if self.first_offerer is None:
                self.first_offerer = False
            answered: asyncio.Future[str] = self.loop.create_future()

            def on_answer(reply: Any) -> None:
                answer = reply.get_value("answer")
                self.webrtc.emit("set-local-description", answer, None)
                self.loop.call_soon_threadsafe(answered.set_result, answer.sdp.as_text())

            def on_remote_set(_reply: Any) -> None:
                self.webrtc.emit("create-answer", None, self._promise(on_answer))

            offer = self._description(GstWebRTC.WebRTCSDPType.OFFER, payload["sdp"])
            self.webrtc.emit("set-remote-description", offer, self._promise(on_remote_set))
            await self.signal({"kind": "answer", "sdp": await answered})
        elif kind == "error":
            self.errors.append(payload)

    # --- the service ---------------------------------------------------------------------

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def signal(self, payload: dict[str, Any]) -> None:
        if self.call_id is not None and self.peer is not None:
            await self.send(type="signal", callId=self.call_id, to=self.peer, payload=payload)

    async def sign_in(self) -> None:
        request = urllib.request.Request(
            f"{self.base}/api/token",
            data=json.dumps({"userId": self.name}).encode(),
            headers={"Content-Type": "application/json"},
        )

        def fetch() -> str:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(json.load(response)["token"])

        token = await asyncio.to_thread(fetch)
        self.ws = await websockets.connect(self.base.replace("http://", "ws://") + "/ws")
        await self.send(type="sign-in", token=token, displayName=self.name, protocolVersion=1)
        reply = json.loads(await self.ws.recv())
        assert reply["type"] == "signed-in", reply
        self.user_id = reply["userId"]

    async def read_service(self) -> None:
        async for frame in self.ws:
            message = json.loads(frame)
            kind = message["type"]
            if kind == "incoming-call":
                self.incoming = message
                self.call_id, self.peer = message["callId"], message["caller"]["userId"]
                self.state = "Ringing"
                await self.send(type="ringing", callId=message["callId"])
            elif kind == "roster" and message["callId"] == self.call_id:
                connected = [p["userId"] for p in message["participants"] if p["state"] == "Connected"]
                if connected and self.incoming is not None:  # the mesh rule: whoever arrives offers
                    self.state = "Connected"
                    await self.offer()
            elif kind == "participant-updated" and message["callId"] == self.call_id:
                if message["participant"]["state"] == "Connected":
                    self.state = "Connected"
                self.peer_held = bool(message["participant"]["isOnHold"])
                self._sending()
            elif kind == "signal" and message["callId"] == self.call_id:
                await self.on_signal(message["payload"])
            elif kind == "call-ended" and message["callId"] == self.call_id:
                self.state, self.end_reason = "Disconnected", message["reason"]
                self.pipe.set_state(Gst.State.NULL)
            elif kind == "error":
                self.errors.append(message)

    async def command(self, op: str, message: dict[str, Any]) -> dict[str, Any]:
        if op == "call":
            self.call_id, self.peer = str(uuid.uuid4()), message["to"]
            self.state = "Connecting"
            await self.send(type="start-call", callId=self.call_id, participants=[self.peer], video=True)
        elif op == "accept":
            assert self.incoming is not None, "no incoming call"
            await self.send(type="accept", callId=self.call_id, video=True)
        elif op in ("hold", "resume"):
            self.held = op == "hold"
            self._sending()
            await self.send(type="update-state", callId=self.call_id, isOnHold=self.held)
        elif op in ("mute", "unmute"):
            self.mic.set_property("mute", op == "mute")
            await self.send(type="update-state", callId=self.call_id, isMuted=op == "mute")
        elif op == "video":
            self.video_on = bool(message["on"])
            self._sending()
            await self.send(type="update-state", callId=self.call_id, isVideoOn=bool(message["on"]))
        elif op == "hang-up":
            await self.send(type="hang-up", callId=self.call_id, forEveryone=False)
        elif op != "stats":
            return {"error": f"unknown op {op!r}"}
        return {
            "userId": self.user_id,
            "state": self.state,
            "connection": self.connection_state,
            "endReason": self.end_reason,
            "videoFrames": self.video_frames,
            "audioBuffers": self.audio_buffers,
            "audioLevel": self.audio_level if time.monotonic() - self.audio_level_at < 0.5 else -100.0,
            "errors": self.errors,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True)
    parser.add_argument("--name", default="gst")
    parser.add_argument("--setup", choices=("actpass", "active", "passive"), default="actpass")
    parser.add_argument("--freq", type=int, default=660)
    parser.add_argument("--pattern", default="ball")
    parser.add_argument("--bad-fingerprint", action="store_true", help="offer a wrong DTLS fingerprint")
    args = parser.parse_args()
    Gst.init(None)
    glib = GLib.MainLoop()
    threading.Thread(target=glib.run, daemon=True).start()
    client = Client(args.service, args.name, args.setup, args.freq, args.pattern, args.bad_fingerprint)
    await client.sign_in()
    reader = asyncio.ensure_future(client.read_service())
    emit(ready=True, userId=client.user_id)
    stdin = asyncio.StreamReader()
    await client.loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := await stdin.readline():
        message = json.loads(line)
        if message["op"] == "quit":
            break
        started = time.monotonic()
        try:
            reply = await client.command(message["op"], message)
        except Exception as error:  # the test reads it as a failed command
            reply = {"error": f"{type(error).__name__}: {error}"}
        reply["seconds"] = round(time.monotonic() - started, 3)
        emit(**reply)
    reader.cancel()
    client.pipe.set_state(Gst.State.NULL)
    await client.ws.close()
    glib.quit()


if __name__ == "__main__":
    asyncio.run(main())
