"""Session descriptions explained line by line (RFC 8866 SDP, with WebRTC's JSEP attributes, RFC 8829).

``annotate(sdp)`` gives every line of an offer or answer with what it means in plain words.
A line this module does not know is kept and labelled as unknown, never dropped, so that
an offer from any stack (Chromium, Firefox, GStreamer) is shown whole. ``diff(a, b)``
says what changed between two descriptions (what a hold renegotiated, say).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

DIRECTIONS = {
    "sendrecv": "sends and receives this media",
    "sendonly": "only sends this media (the other side receives); a holder offers this (RFC 3264)",
    "recvonly": "only receives this media; the answer to a sendonly offer",
    "inactive": "neither sends nor receives this media",
}
EXTENSIONS = {
    "urn:ietf:params:rtp-hdrext:sdes:mid": "the m-line's mid, so a bundled receiver knows which stream a packet is",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level": "the audio level of each packet (RFC 6464), for who-is-speaking",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": "the send time, for the receiver's bandwidth "
    "estimate (REMB)",
    "urn:ietf:params:rtp-hdrext:toffset": "the transmission time offset (RFC 5450)",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": "a transport-wide sequence number, "
    "for transport-cc congestion control",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id": "the RTP stream id (rid) of a simulcast layer",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id": "the rid of the stream a retransmission repairs",
    "urn:3gpp:video-orientation": "the camera's rotation",
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay": "the playout delay the sender asks for",
    "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type": "whether the video is a screen share",
    "http://www.webrtc.org/experiments/rtp-hdrext/video-timing": "timing of the frame through the sender",
    "http://www.webrtc.org/experiments/rtp-hdrext/color-space": "the video's colour space",
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension": "AV1's "
    "dependency descriptor (which frames a frame needs)",
}
FEEDBACK = {
    "nack": "the receiver may ask for lost packets again (generic NACK, RFC 4585)",
    "nack pli": "the receiver may ask for a new keyframe (Picture Loss Indication)",
    "ccm fir": "the receiver may ask for a full intra frame (FIR, RFC 5104)",
    "goog-remb": "the receiver reports its bandwidth estimate (REMB) for congestion control",
    "transport-cc": "the receiver reports each packet's arrival (transport-wide congestion control)",
}
CANDIDATE_TYPES = {
    "host": "an address of the machine itself",
    "srflx": "the machine's address as a STUN server saw it (server reflexive: outside a NAT)",
    "prflx": "an address learnt from a connectivity check (peer reflexive)",
    "relay": "an address on a TURN server, which relays the media",
}


@dataclass(frozen=True, slots=True)
class SdpLine:
    """One line of a session description and what it means."""

    number: int
    section: str
    """``session``, or the m-line's media (``audio 0``, ``video 1``: kind and index)."""
    line: str
    meaning: str
    known: bool
    """False for a line this annotator does not know: shown, and labelled as unknown."""


def annotate(sdp: str) -> list[SdpLine]:
    """Every line of ``sdp`` with what it means."""
    lines: list[SdpLine] = []
    section = "session"
    media_index = -1
    for number, raw in enumerate(sdp.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("m="):
            media_index += 1
            section = f"{line[2:].split(' ', 1)[0]} {media_index}"
        meaning, known = explain(line)
        lines.append(SdpLine(number, section, line, meaning, known))
    return lines


def explain(line: str) -> tuple[str, bool]:
    """What one SDP line means, and whether this annotator knows it."""
    if len(line) < 2 or line[1] != "=":
        return "not an SDP line (each line is <letter>=<value>)", False
    kind, value = line[0], line[2:]
    if kind == "a":
        name, _, rest = value.partition(":")
        explainer = _ATTRIBUTES.get(name)
        if explainer is not None:
            return explainer(rest), True
        if name in DIRECTIONS:
            return f"direction: {DIRECTIONS[name]}", True
        return f"an attribute this annotator does not know (a={name}); kept as the peer sent it", False
    explainer = _FIELDS.get(kind)
    if explainer is None:
        return f"a line of type {kind}= this annotator does not know; kept as the peer sent it", False
    return explainer(value), True


def diff(before: str, after: str) -> list[str]:
    """The lines that changed from ``before`` to ``after``, as ``- old`` and ``+ new`` (o= and candidates aside)."""

    def kept(sdp: str) -> list[str]:
        return [line for line in sdp.replace("\r\n", "\n").split("\n") if line and not line.startswith("o=")]

    return [
        line
        for line in difflib.unified_diff(kept(before), kept(after), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# --- the explainers -------------------------------------------------------------------


def _version(value: str) -> str:
    return f"SDP version {value} (always 0)"


def _origin(value: str) -> str:
    parts = value.split()
    if len(parts) >= 6:
        return (
            f"origin: user {parts[0]!r}, session id {parts[1]}, version {parts[2]} (it grows with each new "
            f"offer or answer of this session), address {parts[5]} (not used by WebRTC)"
        )
    return "origin: who made the description and its version"


def _media(value: str) -> str:
    parts = value.split()
    if len(parts) < 4:
        return "a media section"
    kind, port, proto, formats = parts[0], parts[1], parts[2], parts[3:]
    if port == "0":
        return f"a {kind} section turned off (port 0): it was rejected or stopped"
    return (
        f"a {kind} section: protocol {proto} (RTP over DTLS-SRTP, with RTCP feedback), payload types "
        f"{', '.join(formats)} in order of preference; port {port} is a placeholder, ICE finds the real one"
    )


def _connection(value: str) -> str:
    return f"connection address {value}: a placeholder in WebRTC, where ICE candidates carry the addresses"


def _bandwidth(value: str) -> str:
    kind, _, amount = value.partition(":")
    unit = "kbit/s" if kind in ("AS", "CT") else "bit/s"
    return f"bandwidth limit {kind}: {amount} {unit}"


def _rtpmap(rest: str) -> str:
    payload, _, codec = rest.partition(" ")
    name, _, clock = codec.partition("/")
    rate, _, channels = clock.partition("/")
    if name.lower() == "rtx":
        return f"payload type {payload} is rtx: retransmissions of lost packets (RFC 4588), {rate} Hz clock"
    extra = f", {channels} channels" if channels else ""
    return f"payload type {payload} is {name}, RTP clock {rate} Hz{extra}"


def _fmtp(rest: str) -> str:
    payload, _, params = rest.partition(" ")
    notes = []
    for item in params.split(";"):
        key, _, value = item.strip().partition("=")
        if key == "apt":
            notes.append(f"repairs payload type {value}")
        elif key == "minptime":
            notes.append(f"at least {value} ms of audio per packet")
        elif key == "useinbandfec":
            notes.append("Opus forward error correction " + ("on" if value == "1" else "off"))
        elif key == "profile-level-id":
            notes.append(f"H.264 profile and level {value}")
        elif key:
            notes.append(f"{key}={value}" if value else key)
    return f"format parameters of payload type {payload}: " + "; ".join(notes)


def _rtcp_fb(rest: str) -> str:
    payload, _, feedback = rest.partition(" ")
    what = FEEDBACK.get(feedback, f"feedback {feedback!r}")
    scope = "every payload type" if payload == "*" else f"payload type {payload}"
    return f"RTCP feedback for {scope}: {what}"


def _extmap(rest: str) -> str:
    ident, _, uri = rest.partition(" ")
    uri = uri.split(" ", 1)[0]
    what = EXTENSIONS.get(uri, f"the header extension {uri}")
    return f"RTP header extension id {ident}: {what}"


def _ssrc(rest: str) -> str:
    ssrc, _, attribute = rest.partition(" ")
    name, _, value = attribute.partition(":")
    if name == "cname":
        return f"the stream with SSRC {ssrc} has CNAME {value}: streams with one CNAME are synchronised (lip sync)"
    if name == "msid":
        return f"the stream with SSRC {ssrc} belongs to media stream and track {value}"
    return f"the stream with SSRC {ssrc}: {attribute}"


def _ssrc_group(rest: str) -> str:
    semantics, _, ssrcs = rest.partition(" ")
    if semantics == "FID":
        first, _, second = ssrcs.partition(" ")
        return f"SSRC {second} carries the retransmissions of SSRC {first} (FID)"
    return f"the SSRCs {ssrcs} are grouped as {semantics}"


def _candidate(rest: str) -> str:
    parts = rest.split()
    if len(parts) < 8:
        return "an ICE candidate"
    foundation, component, transport, priority, address, port = parts[:6]
    kind = parts[7]
    value = int(priority) if priority.isdigit() else 0
    type_preference, local_preference, component_part = value >> 24, (value >> 8) & 0xFFFF, 256 - (value & 0xFF)
    related = ""
    if "raddr" in parts:
        at = parts.index("raddr")
        related = f", seen from {parts[at + 1]}:{parts[at + 2] if 'rport' in parts else '?'}"
    return (
        f"ICE candidate {address}:{port} over {transport.upper()}: {kind} ({CANDIDATE_TYPES.get(kind, kind)}); "
        f"foundation {foundation}, component {component} ({'RTP' if component == '1' else 'RTCP'}), priority "
        f"{priority} = type preference {type_preference}, local preference {local_preference}, "
        f"component {component_part}{related}"
    )


def _group(rest: str) -> str:
    semantics, _, mids = rest.partition(" ")
    if semantics == "BUNDLE":
        return f"BUNDLE: the m-lines {mids} share one transport (one ICE and DTLS connection, RFC 9143)"
    return f"the m-lines {mids} are grouped as {semantics}"


def _fingerprint(rest: str) -> str:
    algorithm, _, value = rest.partition(" ")
    return (
        f"the {algorithm} fingerprint of the certificate this side will present in the DTLS handshake: "
        f"{value[:23]}...; the peer checks the certificate against it"
    )


def _setup(rest: str) -> str:
    roles = {
        "actpass": "either DTLS role; the answerer chooses (RFC 5763)",
        "active": "this side is the DTLS client: it starts the handshake",
        "passive": "this side is the DTLS server: it waits for the handshake",
        "holdconn": "no DTLS connection for now",
    }
    return f"DTLS role: {roles.get(rest, rest)}"


def _simple(text: str) -> Callable[[str], str]:
    return lambda rest: text.format(rest=rest)


_FIELDS: dict[str, Callable[[str], str]] = {
    "v": _version,
    "o": _origin,
    "s": _simple("session name {rest!r} (unused by WebRTC)"),
    "t": _simple("timing {rest}: 0 0 means the session is not bounded in time"),
    "m": _media,
    "c": _connection,
    "b": _bandwidth,
    "i": _simple("a title: {rest}"),
    "u": _simple("a URI describing the session: {rest}"),
    "e": _simple("an email contact: {rest}"),
    "p": _simple("a phone contact: {rest}"),
    "r": _simple("repeat times: {rest}"),
    "z": _simple("time zone adjustments: {rest}"),
    "k": _simple("an encryption key (obsolete; WebRTC uses DTLS)"),
}
_ATTRIBUTES: dict[str, Callable[[str], str]] = {
    "group": _group,
    "msid-semantic": _simple("media streams are identified by msid ({rest})"),
    "extmap-allow-mixed": _simple("one- and two-byte RTP header extensions may be mixed (RFC 8285)"),
    "ice-options": _simple("ICE options: {rest} (trickle: candidates may come after the description)"),
    "ice-lite": _simple("this side runs ICE lite: it only answers checks (servers do)"),
    "ice-ufrag": _simple("ICE username fragment {rest}: checks are signed with it and the password"),
    "ice-pwd": _simple("ICE password: it signs the connectivity checks (STUN message integrity)"),
    "candidate": _candidate,
    "end-of-candidates": _simple("no more ICE candidates will come for this section"),
    "fingerprint": _fingerprint,
    "setup": _setup,
    "mid": _simple("this m-line's id is {rest!r} (the BUNDLE group and the mid header extension name it)"),
    "msid": _simple("this media belongs to media stream and track {rest}"),
    "rtcp": _simple("the RTCP address {rest} (a placeholder: rtcp-mux puts RTCP on the RTP port)"),
    "rtcp-mux": _simple("RTP and RTCP share one port (RFC 5761); WebRTC requires it"),
    "rtcp-rsize": _simple("reduced-size RTCP is allowed (RFC 5506)"),
    "rtpmap": _rtpmap,
    "fmtp": _fmtp,
    "rtcp-fb": _rtcp_fb,
    "extmap": _extmap,
    "ssrc": _ssrc,
    "ssrc-group": _ssrc_group,
    "ptime": _simple("{rest} ms of audio per packet"),
    "maxptime": _simple("at most {rest} ms of audio per packet"),
    "sctp-port": _simple("the data channel's SCTP port {rest}"),
    "max-message-size": _simple("data channel messages of up to {rest} bytes"),
    "rid": _simple("a simulcast or RTP stream id: {rest}"),
    "simulcast": _simple("simulcast layers: {rest}"),
    "identity": _simple("an identity assertion (WebRTC identity)"),
    "tls-id": _simple("the DTLS association's id {rest}"),
    "rtcp-xr": _simple(
        "RTCP extended reports (RFC 3611): {rest}; rcvr-rtt lets a side that only receives measure the round trip"
    ),
    "framerate": _simple("at most {rest} video frames a second"),
    "x-google-flag": _simple("a Chromium flag: {rest}"),
}
