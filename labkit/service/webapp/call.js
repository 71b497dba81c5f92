// The calling API of the page, in ACS shape: CallAgent, Call, IncomingCall, RemoteParticipant.
// States and end reasons are the ones labkit's Python API uses (labkit/states.py).

import { OFFER_NOT_ACCEPTABLE, PeerLink, SFU_ID } from "./peer.js";
import { uuid4 } from "./signaling.js";

export const CallState = {
  CONNECTING: "Connecting",
  RINGING: "Ringing",
  CONNECTED: "Connected",
  LOCAL_HOLD: "LocalHold",
  REMOTE_HOLD: "RemoteHold",
  DISCONNECTING: "Disconnecting",
  DISCONNECTED: "Disconnected",
};
const LIVE_PARTICIPANT = ["Connected", "Hold"];
const END_TIMEOUT_MS = 5000; // how long hang-up and reject wait for the service's call-ended
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGroupId(text) {
  return GUID.test(text.trim());
}

/** ACS CallAgent: places and receives calls for one signed-in user. */
export class CallAgent extends EventTarget {
  constructor(signaling, devices) {
    super();
    this.signaling = signaling;
    this.devices = devices;
    this.calls = new Map(); // callId -> Call
    const route = (event) => {
      const call = this.calls.get(event.detail.callId);
      if (call) call._onMessage(event.type, event.detail);
    };
    for (const type of ["roster", "participant-joined", "participant-updated", "participant-left", "call-ended", "signal", "media-route"])
      signaling.addEventListener(type, route);
    signaling.addEventListener("incoming-call", (event) => this._onIncoming(event.detail));
    signaling.addEventListener("closed", () => {
      for (const call of this.calls.values())
        call._finish({ code: 410, subCode: 3100, message: "The connection to the service was lost." });
    });
    // the service went away: calls whose media is up go on peer to peer; the rest need it
    signaling.addEventListener("disconnected", () => {
      for (const call of this.calls.values())
        if (!call.isEstablished) call._finish({ code: 410, subCode: 3100, message: "The connection to the service was lost." });
    });
    signaling.addEventListener("reconnected", () => {
      for (const call of this.calls.values()) call._rejoin();
    });
  }

  get userId() {
    return this.signaling.userId;
  }

  /** ACS startCall: call users (1:1 or an ad-hoc group). */
  async startCall(userIds, { video = false } = {}) {
    const call = new Call(this, uuid4(), "Outgoing", { video });
    await call._begin(() => this.signaling.request({ type: "start-call", callId: call.id, participants: userIds, video }));
    return call;
  }

  /** ACS join: join a group call by its GUID. */
  async join(groupId, { video = false } = {}) {
    const call = new Call(this, groupId, "Outgoing", { video, group: true });
    await call._begin(() => this.signaling.request({ type: "join", groupId, video }));
    return call;
  }

  _onIncoming(message) {
    const incoming = new IncomingCall(this, message);
    this.signaling.send({ type: "ringing", callId: message.callId });
    this.dispatchEvent(new CustomEvent("incomingCall", { detail: incoming }));
  }
}

/** ACS IncomingCall: accept (with audio or video) or reject. */
export class IncomingCall extends EventTarget {
  constructor(agent, message) {
    super();
    this.agent = agent;
    this.id = message.callId;
    this.callerInfo = message.caller;
    this.video = message.video;
    this.isGroupCall = message.isGroupCall;
    this.onEnded = (event) => {
      if (event.detail.callId !== this.id) return;
      agent.signaling.removeEventListener("call-ended", this.onEnded);
      this.dispatchEvent(new CustomEvent("callEnded", { detail: event.detail.reason }));
    };
    agent.signaling.addEventListener("call-ended", this.onEnded);
  }

  async accept({ video = false } = {}) {
    this.agent.signaling.removeEventListener("call-ended", this.onEnded);
    const call = new Call(this.agent, this.id, "Incoming", { video });
    await call._begin(() => this.agent.signaling.request({ type: "accept", callId: this.id, video }));
    return call;
  }

  /** Decline (the caller sees 603); resolves once the service has ended the invitation. */
  async reject() {
    const ended = new Promise((resolve) => this.addEventListener("callEnded", resolve, { once: true }));
    this.agent.signaling.send({ type: "reject", callId: this.id });
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, END_TIMEOUT_MS))]);
  }
}

/** ACS Call. Events: stateChanged, remoteParticipantsUpdated, isMutedChanged, isLocalVideoOnChanged, localVideoChanged. */
export class Call extends EventTarget {
  constructor(agent, id, direction, { video, group = false }) {
    super();
    this.agent = agent;
    this.id = id;
    this.direction = direction;
    this.isGroupCall = group;
    this.state = CallState.CONNECTING;
    this.callEndReason = null;
    this.isMuted = false;
    this.isLocalVideoOn = video;
    this.isOnHold = false;
    this.remoteParticipants = new Map(); // userId -> participant {userId, displayName, state, isMuted, ...}
    this.links = new Map(); // userId -> PeerLink ("sfu": the link that publishes to the SFU)
    this.media = "mesh"; // "sfu": publish once, and receive each participant on a link from the SFU
    this._joinedGroup = group;
    this.startTime = null;
    agent.calls.set(id, this);
  }

  get devices() {
    return this.agent.devices;
  }

  async mute() {
    await this._setMuted(true);
  }

  async unmute() {
    await this._setMuted(false);
  }

  /** ACS startVideo: open the picked camera and send it to everyone. */
  async startVideo() {
    const track = await this.devices.openCamera();
    await this._sendEverywhere("video", track);
    this._setLocalVideo(true);
  }

  async stopVideo() {
    await this._sendEverywhere("video", null);
    this.devices.closeCamera();
    this._setLocalVideo(false);
  }

  /** ACS LocalVideoStream.switchSource: another camera, same call, no renegotiation. */
  async switchCamera(deviceId) {
    const send = (track) => (this.isLocalVideoOn ? this._sendEverywhere("video", track) : Promise.resolve());
    await this.devices.select("camera", deviceId || this.devices.nextCamera(), send);
    this.dispatchEvent(new Event("localVideoChanged"));
  }

  async switchMicrophone(deviceId) {
    await this.devices.select("microphone", deviceId, (track) => this._sendEverywhere("audio", track));
  }

  async hold() {
    await this._setHeld(true);
  }

  async resume() {
    await this._setHeld(false);
  }

  /** ACS hangUp({forEveryone}); resolves once the call is Disconnected. */
  async hangUp({ forEveryone = false } = {}) {
    if (this.state === CallState.DISCONNECTED) return;
    this._setState(CallState.DISCONNECTING);
    const ended = new Promise((resolve) => {
      const check = () => this.state === CallState.DISCONNECTED && resolve();
      this.addEventListener("stateChanged", check);
    });
    try {
      this.agent.signaling.send({ type: "hang-up", callId: this.id, forEveryone });
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, END_TIMEOUT_MS))]);
    } finally {
      this._finish({ code: 0, subCode: 0, message: "The call was hung up." }); // no reply: finish anyway
    }
  }

  // --- internals ------------------------------------------------------------------------

  async _begin(send) {
    const devices = this.devices;
    this.mediaErrors = [];
    try {
      await devices.openMicrophone();
    } catch (error) {
      this.mediaErrors.push(error);
    }
    if (this.isLocalVideoOn) {
      try {
        await devices.openCamera();
      } catch (error) {
        this.isLocalVideoOn = false;
        this.mediaErrors.push(error);
      }
    }
    try {
      await send();
    } catch (error) {
      this.agent.calls.delete(this.id);
      this._closeMedia();
      throw error;
    }
  }

  async _setMuted(muted) {
    if (this.devices.microphoneTrack) this.devices.microphoneTrack.enabled = !muted;
    this.isMuted = muted;
    this._update({ isMuted: muted });
    this.dispatchEvent(new Event("isMutedChanged"));
  }

  async _setHeld(held) {
    if (![CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD].includes(this.state))
      throw new Error(`Only a connected call can be held; this one is ${this.state}.`);
    this.isOnHold = held;
    await Promise.all([...this.links.values()].map((link) => link.setHeld(held)));
    this._update({ isOnHold: held });
    this._updateHoldState();
  }

  _setLocalVideo(on) {
    this.isLocalVideoOn = on;
    this._update({ isVideoOn: on });
    this.dispatchEvent(new Event("isLocalVideoOnChanged"));
  }

  async _sendEverywhere(kind, track) {
    await Promise.all([...this.links.values()].map((link) => link.setTrack(kind, track)));
  }

  _update(fields) {
    if (this.state !== CallState.DISCONNECTED && this.agent.signaling.isOpen)
      this.agent.signaling.send({ type: "update-state", callId: this.id, ...fields });
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    if (state === CallState.CONNECTED && !this.startTime) this.startTime = new Date();
    this.dispatchEvent(new Event("stateChanged"));
  }

  _onMessage(type, message) {
    switch (type) {
      case "roster":
        return this._onRoster(message);
      case "participant-joined":
        this.isGroupCall = true;
        return this._upsert(message.participant);
      case "participant-updated":
        this._upsert(message.participant);
        this._updateRinging();
        return this._updateHoldState();
      case "participant-left":
        return this._onLeft(message.userId, message.reason);
      case "signal":
        return this._onSignal(message);
      case "call-ended":
        return this._finish(message.reason);
      case "media-route":
        return message.media === "sfu" ? this._moveToSfu() : undefined;
    }
  }

  /** Connected (held or not): its media can outlast a signaling outage. */
  get isEstablished() {
    return [CallState.CONNECTED, CallState.LOCAL_HOLD, CallState.REMOTE_HOLD].includes(this.state);
  }

  /** After reconnecting: tell the service this call went on (see docs/protocol.md, "When the service restarts"). */
  async _rejoin() {
    try {
      await this.agent.signaling.request({
        type: "rejoin",
        callId: this.id,
        groupId: this._joinedGroup ? this.id : undefined,
        isGroupCall: this.isGroupCall,
        participants: [...this.remoteParticipants.keys()],
        isMuted: this.isMuted,
        isVideoOn: this.isLocalVideoOn,
        isOnHold: this.isOnHold,
      });
    } catch (error) {
      this._finish({ code: 410, subCode: 3100, message: `The call could not be restored after a service outage: ${error.message}` });
    }
  }

  _onRoster(roster) {
    this.isGroupCall = roster.isGroupCall;
    this.media = roster.media || "mesh";
    if (roster.groupId) this.groupId = roster.groupId;
    for (const p of roster.participants) if (p.userId !== this.agent.userId) this._upsert(p);
    if (roster.rejoined) return this._updateHoldState(); // the links are up already: nobody offers
    const peers = [...this.remoteParticipants.values()].filter((p) => LIVE_PARTICIPANT.includes(p.state));
    if (!peers.length && this._joinedGroup) this._setState(CallState.CONNECTED);
    if (this.media === "sfu") {
      this._link(SFU_ID).offer(); // publish once; the SFU offers each participant's media
      return this._updateRinging();
    }
    for (const peer of peers) this._link(peer.userId).offer(); // the mesh rule: whoever arrives offers
    this._updateRinging();
  }

  _upsert(wire) {
    if (wire.userId === this.agent.userId) return;
    const known = this.remoteParticipants.get(wire.userId);
    if (known) {
      Object.assign(known, wire);
    } else {
      this.remoteParticipants.set(wire.userId, { ...wire, stream: null, callEndReason: null });
      this.dispatchEvent(new CustomEvent("remoteParticipantsUpdated", { detail: { added: [wire.userId], removed: [] } }));
    }
    this.dispatchEvent(new CustomEvent("participantChanged", { detail: wire.userId }));
  }

  _updateRinging() {
    if (this.state === CallState.CONNECTING && [...this.remoteParticipants.values()].some((p) => p.state === "Ringing"))
      this._setState(CallState.RINGING);
  }

  _updateHoldState() {
    if ([CallState.CONNECTING, CallState.RINGING, CallState.DISCONNECTING, CallState.DISCONNECTED].includes(this.state)) return;
    const connected = [...this.remoteParticipants.values()].filter((p) => LIVE_PARTICIPANT.includes(p.state));
    if (this.isOnHold) this._setState(CallState.LOCAL_HOLD);
    else if (connected.length && connected.every((p) => p.isOnHold)) this._setState(CallState.REMOTE_HOLD);
    else this._setState(CallState.CONNECTED);
  }

  _onLeft(userId, reason) {
    const participant = this.remoteParticipants.get(userId);
    const link = this.links.get(userId);
    if (link) link.close();
    this.links.delete(userId);
    if (!participant) return;
    participant.callEndReason = reason;
    this.remoteParticipants.delete(userId);
    this.dispatchEvent(new CustomEvent("remoteParticipantsUpdated", { detail: { added: [], removed: [userId], reason } }));
    this._updateHoldState();
  }

  /** The service moved this call to its SFU: close the mesh links, and publish. */
  _moveToSfu() {
    if (this.media === "sfu") return;
    this.media = "sfu";
    for (const link of this.links.values()) link.close();
    this.links.clear();
    if (this.state !== CallState.DISCONNECTED) this._link(SFU_ID).offer();
  }

  async _onSignal(message) {
    const fromSfu = message.from === SFU_ID && this.media === "sfu";
    if (!fromSfu && !this.remoteParticipants.has(message.from))
      return console.warn("labkit: a signal from a non-participant", message.from);
    try {
      await this._link(message.from).handle(message.payload);
    } catch (error) {
      console.warn("labkit: negotiation with", message.from, "failed", error);
      if (error.code === OFFER_NOT_ACCEPTABLE) this._endForMedia(message.from, { code: 488, subCode: 0, message: error.message });
    }
  }

  /** The media to ``userId`` failed: end the call (in a group, drop that peer) and say why. */
  _endForMedia(userId, reason) {
    if (this.isGroupCall && this.remoteParticipants.size > 1 && userId !== SFU_ID) {
      const link = this.links.get(userId);
      if (link) link.close();
      this.links.delete(userId);
      return;
    }
    if (this.agent.signaling.isOpen) this.agent.signaling.send({ type: "hang-up", callId: this.id, forEveryone: false, reason });
    this._finish(reason);
  }

  _link(userId) {
    let link = this.links.get(userId);
    if (link) return link;
    const remote = this.remoteParticipants.get(userId);
    const polite = !(remote && remote.canRollBack) || this.agent.userId > userId;
    const direction = this.media !== "sfu" ? "sendrecv" : userId === SFU_ID ? "sendonly" : "recvonly";
    const sends = direction !== "recvonly";
    link = new PeerLink(userId, {
      polite,
      direction,
      held: this.isOnHold,
      audioTrack: sends ? this.devices.microphoneTrack : null,
      videoTrack: sends && this.isLocalVideoOn ? this.devices.cameraTrack : null,
      sendSignal: (payload) => this.agent.signaling.send({ type: "signal", callId: this.id, to: userId, payload }),
      iceServers: this.agent.signaling.iceServers,
      iceTransportPolicy: this.agent.signaling.iceTransportPolicy,
    });
    link.addEventListener("track", () => {
      const participant = this.remoteParticipants.get(userId);
      if (participant) {
        participant.stream = link.stream;
        this.dispatchEvent(new CustomEvent("participantChanged", { detail: userId }));
      }
    });
    link.addEventListener("state", (event) => {
      if (event.detail === "connected" && [CallState.CONNECTING, CallState.RINGING].includes(this.state)) {
        this._setState(CallState.CONNECTED);
        this._updateHoldState();
      }
    });
    this.links.set(userId, link);
    return link;
  }

  _finish(reason) {
    if (this.state === CallState.DISCONNECTED) return;
    this.callEndReason = reason;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.agent.calls.delete(this.id);
    this._closeMedia();
    this._setState(CallState.DISCONNECTED);
  }

  _closeMedia() {
    if (![...this.agent.calls.values()].length) this.devices.closeAll();
  }
}
