// One RTCPeerConnection to one remote participant, or to the SFU (the twin of labkit/media/peer_link.py).
//
// Through an SFU, the link to it ("sfu") is sendonly: this page publishes once. Each
// participant's media comes on a recvonly link, whose offer the SFU makes. Holding then
// sends nothing upstream and the service pauses what the SFU forwards: no renegotiation.
//
// Offers and answers carry every ICE candidate (this page sends no trickle; it accepts it).
// Only the side that sent a link's first offer ever offers again: the other asks it to with
// `negotiation-needed`. So a browser never re-offers with payload types of its own choosing
// (Firefox does after setCodecPreferences), and offers cannot cross. Should they cross
// anyway, W3C perfect negotiation applies: this page is polite toward agents that cannot
// roll back (aiortc) and toward pages with a smaller user id.
//
// Hold is RFC 3264's: the holder's transceivers are `sendonly` and send nothing (no track).
// An offer this page cannot answer is refused with an `error` signal (`offer-not-acceptable`).

const GATHER_TIMEOUT_MS = 3000;
const NEGOTIATION_TIMEOUT_MS = 10000;
const PREFERRED = { audio: ["audio/opus"], video: ["video/VP8", "video/rtx"] };
export const HOLD_DIRECTION = "sendonly";
export const OFFER_NOT_ACCEPTABLE = "offer-not-acceptable";
export const SFU_ID = "sfu"; // whom a member of an SFU call publishes to (labkit/protocol/messages.py)

export class PeerLink extends EventTarget {
  constructor(
    remoteId,
    { polite, sendSignal, audioTrack, videoTrack, held, direction = "sendrecv", iceServers = [], iceTransportPolicy = "all" },
  ) {
    super();
    this.remoteId = remoteId;
    this.direction = direction; // sendrecv (a mesh peer), sendonly (to the SFU), recvonly (one participant from it)
    this.polite = polite;
    this.held = held;
    this.stream = new MediaStream();
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this._send = sendSignal;
    this._tracks = { audio: audioTrack, video: videoTrack };
    this._queue = Promise.resolve();
    this._answered = null; // settles the wait for the answer to our outstanding offer
    this._offerer = null; // this page sent the link's first offer (null: no offer yet)
    this.pc.ontrack = (event) => {
      this.stream.addTrack(event.track);
      this.dispatchEvent(new CustomEvent("track", { detail: event.track }));
    };
    this.pc.onconnectionstatechange = () =>
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
  }

  get connectionState() {
    return this.pc.connectionState;
  }

  /** Send an offer: the first one, or a renegotiation (hold, resume). */
  offer() {
    if (this._offerer === false) return this._askForOffer();
    return this._exclusive(async () => {
      if (!this.pc.getTransceivers().length) {
        this._offerer = true;
        for (const kind of ["audio", "video"])
          this._prefer(this.pc.addTransceiver(this._tracks[kind] || kind, { direction: this.direction }));
      }
      this._applyDirection();
      await this.pc.setLocalDescription();
      await this._gathered();
      const answered = new Promise((resolve) => (this._answered = resolve));
      this._send({ kind: "offer", sdp: this.pc.localDescription.sdp });
      const timeout = new Promise((resolve) => setTimeout(resolve, NEGOTIATION_TIMEOUT_MS));
      await Promise.race([answered, timeout]);
    });
  }

  /** This page answered first: ask the peer to offer, and wait until its offer is answered. */
  async _askForOffer() {
    const answered = new Promise((resolve) => (this._answered = resolve));
    this._send({ kind: "negotiation-needed" });
    const timeout = new Promise((resolve) => setTimeout(resolve, NEGOTIATION_TIMEOUT_MS));
    await Promise.race([answered, timeout]);
  }

  /** Apply the peer's offer, answer or ICE candidate. */
  async handle(payload) {
    if (payload.kind === "answer") {
      if (this.pc.signalingState !== "have-local-offer") return console.warn("labkit: an answer with no offer", this.remoteId);
      await this.pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
      if (this._answered) this._answered();
      return;
    }
    if (payload.kind === "candidate") {
      if (payload.candidate) await this.pc.addIceCandidate(payload);
      return;
    }
    if (payload.kind === "negotiation-needed") {
      this.offer(); // the peer asks this side to offer (not awaited: its answer comes through here)
      return;
    }
    if (payload.kind === "error") {
      if (this._answered) this._answered();
      throw Object.assign(new Error(payload.message), { code: payload.code, hint: payload.hint });
    }
    const collided = this.pc.signalingState !== "stable";
    if (collided && !this.polite) return; // the other side rolls back and answers ours
    const work = async () => {
      const first = !this.pc.getTransceivers().length;
      try {
        await this.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp }); // rolls back ours if they crossed
      } catch (error) {
        const message = `The offer from ${this.remoteId} cannot be answered: ${error.message}.`;
        const hint = "labkit takes Opus audio and VP8 video, with rtcp-mux.";
        this._send({ kind: "error", code: OFFER_NOT_ACCEPTABLE, message, hint });
        throw Object.assign(new Error(message), { code: OFFER_NOT_ACCEPTABLE, hint });
      }
      if (first) {
        // no setCodecPreferences here: the answer follows the offer's order, and a browser that
        // set preferences would renumber its payload types if it ever re-offered
        if (this._offerer === null) this._offerer = false;
        for (const transceiver of this.pc.getTransceivers()) {
          const kind = transceiver.receiver.track.kind;
          if (this._tracks[kind]) await transceiver.sender.replaceTrack(this._sending(kind));
        }
      }
      this._applyDirection();
      await this.pc.setLocalDescription();
      await this._gathered();
      this._send({ kind: "answer", sdp: this.pc.localDescription.sdp });
      if (this._offerer === false && this._answered) this._answered(); // a negotiation we asked for is done
    };
    if (collided) {
      // our offer is rolled back: answer theirs now, then offer ours again
      if (this._answered) this._answered();
      await work();
      this.offer();
    } else {
      await this._exclusive(work);
    }
  }

  /** Replace what this link sends; null stops sending that kind. No renegotiation needed. */
  async setTrack(kind, track) {
    if (this.direction === "recvonly") return; // an SFU's link of one participant: nothing of ours on it
    this._tracks[kind] = track;
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.receiver.track.kind === kind) await this._sendTrack(transceiver.sender, this._sending(kind));
    }
  }

  /** Hold (no media either way: this page sends nothing, the peer answers recvonly) or resume. */
  async setHeld(held) {
    this.held = held;
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (transceiver.currentDirection !== "stopped") await this._sendTrack(transceiver.sender, this._sending(kind));
    }
    if (this.direction === "sendrecv") await this.offer(); // through an SFU, the service pauses its forwarding
  }

  /** Send ``track``, or (null) nothing at all: Firefox sends 1 fps black frames for a null track unless its encoding is inactive. */
  async _sendTrack(sender, track) {
    await sender.replaceTrack(track);
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) return;
    const active = track !== null;
    if (parameters.encodings.every((e) => e.active === active)) return;
    for (const encoding of parameters.encodings) encoding.active = active;
    await sender.setParameters(parameters).catch((error) => console.warn("labkit: setParameters", error));
  }

  /** What the sender of ``kind`` sends now: nothing while held. */
  _sending(kind) {
    return this.held ? null : this._tracks[kind] || null;
  }

  close() {
    this.pc.close();
    this.stream.getTracks().forEach((t) => t.stop());
  }

  _applyDirection() {
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.currentDirection === "stopped") continue;
      transceiver.direction = this.direction !== "sendrecv" ? this.direction : this.held ? HOLD_DIRECTION : "sendrecv";
    }
  }

  _prefer(transceiver) {
    if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
    const kind = transceiver.receiver.track.kind;
    const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
    const wanted = PREFERRED[kind];
    transceiver.setCodecPreferences([
      ...codecs.filter((c) => wanted.includes(c.mimeType)),
      ...codecs.filter((c) => !wanted.includes(c.mimeType)),
    ]);
  }

  _gathered() {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (this.pc.iceGatheringState !== "complete") return;
        this.pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      };
      this.pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_TIMEOUT_MS); // send what we have; loopback and LAN gather at once
    });
  }

  _exclusive(work) {
    const run = this._queue.then(work, work);
    this._queue = run.catch((error) => console.warn("labkit: negotiation with", this.remoteId, error));
    return run;
  }
}
