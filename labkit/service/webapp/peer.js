// One RTCPeerConnection to one remote participant (the twin of labkit/media/peer_link.py).
//
// Offers and answers carry every ICE candidate (no trickle), as aiortc expects. Offers that
// cross follow W3C perfect negotiation: this page is the polite side (it rolls back) toward
// agents that cannot roll back (aiortc) and toward pages with a smaller user id.

const GATHER_TIMEOUT_MS = 3000;
const NEGOTIATION_TIMEOUT_MS = 10000;
const PREFERRED = { audio: ["audio/opus"], video: ["video/VP8", "video/rtx"] };

export class PeerLink extends EventTarget {
  constructor(remoteId, { polite, sendSignal, audioTrack, videoTrack, held, iceServers = [], iceTransportPolicy = "all" }) {
    super();
    this.remoteId = remoteId;
    this.polite = polite;
    this.held = held;
    this.stream = new MediaStream();
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this._send = sendSignal;
    this._tracks = { audio: audioTrack, video: videoTrack };
    this._queue = Promise.resolve();
    this._answered = null; // settles the wait for the answer to our outstanding offer
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
    return this._exclusive(async () => {
      if (!this.pc.getTransceivers().length) {
        for (const kind of ["audio", "video"]) this._prefer(this.pc.addTransceiver(this._tracks[kind] || kind, { direction: "sendrecv" }));
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
    const collided = this.pc.signalingState !== "stable";
    if (collided && !this.polite) return; // the other side rolls back and answers ours
    const work = async () => {
      const first = !this.pc.getTransceivers().length;
      await this.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp }); // rolls back ours if they crossed
      if (first) {
        for (const transceiver of this.pc.getTransceivers()) {
          const kind = transceiver.receiver.track.kind;
          if (this._tracks[kind]) await transceiver.sender.replaceTrack(this._tracks[kind]);
          this._prefer(transceiver);
        }
      }
      this._applyDirection();
      await this.pc.setLocalDescription();
      await this._gathered();
      this._send({ kind: "answer", sdp: this.pc.localDescription.sdp });
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
    this._tracks[kind] = track;
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.receiver.track.kind === kind) await transceiver.sender.replaceTrack(track);
    }
  }

  /** Hold (no media either way) or resume, by renegotiating every transceiver's direction. */
  async setHeld(held) {
    this.held = held;
    await this.offer();
  }

  close() {
    this.pc.close();
    this.stream.getTracks().forEach((t) => t.stop());
  }

  _applyDirection() {
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.currentDirection !== "stopped") transceiver.direction = this.held ? "inactive" : "sendrecv";
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
