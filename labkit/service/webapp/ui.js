// The page: sign-in, dialer, incoming-call prompt, call view, device pickers, error bar.

import { CallAgent, CallState, isGroupId } from "./call.js";
import { DeviceManager } from "./devices.js";
import { Ringer } from "./ringer.js";
import { linkStats, quality } from "./stats.js";
import { accessCode, listUsers, needsAccessCode, rememberAccessCode, requestToken, SignalingClient, tokenExpiry } from "./signaling.js";

const $ = (id) => document.getElementById(id);
const SPEAKING_LEVEL = 0.01; // getStats audioLevel (linear, 1 = full scale): about -40 dBFS, as labkit.stats.diagnostics

function initials(name) {
  return (name || "?").split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
}

export function describeReason(reason, who) {
  if (!reason) return "The call ended.";
  const code = reason.subCode ? `${reason.code}/${reason.subCode}` : `${reason.code}`;
  const message = (reason.message || (who ? `${who} left` : "The call ended")).replace(/\.$/, "");
  return `${message} (${code})`;
}

export class CallApp {
  constructor() {
    this.devices = new DeviceManager();
    this.signaling = null;
    this.agent = null;
    this.call = null;
    this.incoming = null;
    this._timer = null;
    this._peopleTimer = null;
    this.ringer = new Ringer();
    $("sign-in-button").onclick = () => this.signIn($("name").value);
    $("name").onkeydown = (e) => e.key === "Enter" && this.signIn($("name").value);
    $("audio-call").onclick = () => this.dial(false);
    $("video-call").onclick = () => this.dial(true);
    $("copy-id").onclick = () => this._guard(() => navigator.clipboard.writeText(this.agent.userId));
    $("accept-audio").onclick = () => this.accept(false);
    $("accept-video").onclick = () => this.accept(true);
    $("reject").onclick = () => this._guard(() => (this.ringer.stop(), this.incoming.reject()));
    $("mute").onclick = () => this._guard(() => (this.call.isMuted ? this.call.unmute() : this.call.mute()));
    $("video").onclick = () => this._guard(() => (this.call.isLocalVideoOn ? this.call.stopVideo() : this.call.startVideo()));
    $("switch-camera").onclick = () => this._guard(() => this.call.switchCamera());
    $("hold").onclick = () => this._guard(() => (this.call.isOnHold ? this.call.resume() : this.call.hold()));
    $("hang-up").onclick = () => this._guard(() => this.call.hangUp());
    $("fullscreen").onclick = () => this._guard(() => (document.fullscreenElement ? document.exitFullscreen() : $("stage").requestFullscreen()));
    $("sign-out").onclick = () => this._guard(() => this.signOut());
    $("error-close").onclick = () => ($("error").hidden = true);
    for (const key of ["camera", "microphone", "speaker"]) $(`${key}-select`).onchange = (e) => this.pick(key, e.target.value);
    this.devices.addEventListener("changed", () => this._renderDevices());
    $("access-code").value = accessCode();
    needsAccessCode().then((needed) => ($("access-code-field").hidden = !needed));
  }

  /** Get a token from /api/token and sign in over the WebSocket. */
  async signIn(name) {
    name = name.trim();
    if (!name) return this.showError({ message: "Enter your name first.", hint: "" });
    rememberAccessCode($("access-code").value.trim());
    await this._guard(async () => {
      const { token } = await requestToken(name);
      this.signaling = new SignalingClient();
      const me = await this.signaling.signIn(token, name);
      let current = token;
      const freshToken = async () => (current = (await requestToken(name)).token);
      this.signaling.keepTokenFresh(token, freshToken);
      // after a service restart, sign in again with the token in hand while it lasts: same identity, same calls
      this.signaling.enableReconnect(async () => ((tokenExpiry(current) ?? 0) > Date.now() + 30_000 ? current : freshToken()));
      this.signaling.addEventListener("disconnected", () =>
        this.showError({ message: "The connection to the service dropped; reconnecting…", hint: "Calls that were connected go on." }),
      );
      this.signaling.addEventListener("reconnected", () => {
        $("error").hidden = true;
        this.signaling.keepTokenFresh(current, freshToken);
      });
      this.agent = new CallAgent(this.signaling, this.devices);
      this.agent.addEventListener("incomingCall", (e) => this._onIncoming(e.detail));
      const signaling = this.signaling;
      signaling.addEventListener("closed", (e) => {
        if (this.signaling !== signaling) return; // signed out: nothing went wrong
        this.showError({ message: `Disconnected from the service (${e.detail.code}).`, hint: "Reload the page to sign in again." });
      });
      $("me").textContent = `Signed in as ${me.displayName}`; // the long 8:acs: id: "Copy my id", or the tooltip
      $("me").title = me.userId;
      $("sign-in").hidden = true;
      $("sign-out").hidden = false;
      $("dialer").hidden = false;
      $("people").hidden = false;
      $("devices").hidden = false;
      if (this.devices.available) await this.devices.refresh();
      await this._fillUsers();
      this._peopleTimer = setInterval(() => this._fillUsers().catch(() => {}), 3000); // a live list, not one read at sign-in
    });
  }

  /** Leave any call, close the connection to the service, and show the sign-in again. */
  async signOut() {
    if (this.call && this.call.state !== CallState.DISCONNECTED) await this.call.hangUp();
    clearInterval(this._peopleTimer);
    this.ringer.stop();
    this.signaling.close();
    this.signaling = this.agent = this.call = null;
    for (const id of ["dialer", "people", "devices", "call", "incoming", "ended", "sign-out", "error"]) $(id).hidden = true;
    $("sign-in").hidden = false;
    $("me").textContent = "";
  }

  /** Call what the dialer holds: names or user ids (comma-separated), or a group GUID to join. */
  async dial(video) {
    const text = $("callee").value.trim();
    if (!text) return this.showError({ message: "Enter who to call.", hint: "A name, an 8:acs: user id, or a group GUID." });
    await this._guard(async () => {
      if (isGroupId(text)) return this._show(await this.agent.join(text, { video }));
      const users = await listUsers();
      const ids = text.split(",").map((part) => {
        part = part.trim();
        const found = users.find((u) => u.userId === part || u.name.toLowerCase() === part.toLowerCase() || u.displayName === part);
        if (!found) throw Object.assign(new Error(`Nobody called "${part}" is known to the service.`), { hint: "Check the name; the person must have signed in once." });
        return found.userId;
      });
      this._show(await this.agent.startCall(ids, { video }));
    });
  }

  async accept(video) {
    const incoming = this.incoming;
    this.ringer.stop();
    $("incoming").hidden = true;
    await this._guard(async () => this._show(await incoming.accept({ video })));
  }

  async pick(key, id) {
    await this._guard(async () => {
      if (this.call && key === "camera") await this.call.switchCamera(id);
      else if (this.call && key === "microphone") await this.call.switchMicrophone(id);
      else await this.devices.select(key, id);
      if (key === "camera") this._renderLocal();
      if (key === "speaker") for (const audio of document.querySelectorAll("audio.remote")) await this.devices.route(audio);
    });
  }

  showError(error) {
    $("error-text").textContent = error.message || String(error);
    $("error-hint").textContent = error.hint || "";
    $("error").hidden = false;
  }

  // --- rendering --------------------------------------------------------------------------

  _onIncoming(incoming) {
    this.incoming = incoming;
    const name = incoming.callerInfo.displayName || incoming.callerInfo.userId;
    $("incoming-text").textContent = `${name} is calling you${incoming.video ? " (video)" : ""}`;
    $("incoming").hidden = false;
    this.ringer.ring("incoming");
    incoming.addEventListener("callEnded", (e) => {
      this.ringer.stop();
      $("incoming").hidden = true;
      if (e.detail.code === 487) this._ended(`Missed call from ${name} (487)`);
    });
  }

  _show(call) {
    this.call = call;
    for (const error of call.mediaErrors) this.showError(error);
    $("ended").hidden = true;
    $("call").hidden = false;
    $("dialer").hidden = true;
    call.addEventListener("stateChanged", () => this._renderState());
    call.addEventListener("isMutedChanged", () => this._renderControls());
    call.addEventListener("isLocalVideoOnChanged", () => this._renderLocal());
    call.addEventListener("localVideoChanged", () => this._renderLocal());
    call.addEventListener("remoteParticipantsUpdated", (e) => this._renderTiles(e.detail));
    call.addEventListener("participantChanged", () => this._renderTiles());
    this._renderState();
    this._renderLocal();
    this._renderTiles();
    this._timer = setInterval(() => this._renderTimer(), 1000);
    this._statsTimer = setInterval(() => this._renderStats().catch(() => {}), 500);
  }

  _renderState() {
    const call = this.call;
    $("call-state").textContent = call.state;
    const calling = call.direction === "Outgoing" && !call.isGroupCall && [CallState.CONNECTING, CallState.RINGING].includes(call.state);
    const names = [...call.remoteParticipants.values()].map((p) => p.displayName || p.userId).join(", ");
    $("calling").textContent = calling ? `Calling ${names || "…"}…` : "";
    $("calling").hidden = !calling;
    $("hang-up").textContent = calling ? "Cancel" : "Hang up";
    if (calling && call.state === CallState.RINGING) this.ringer.ring("outgoing");
    if (!calling) this.ringer.stop();
    this._renderControls();
    if (call.state !== CallState.DISCONNECTED) this._renderTiles(); // a hold shows on the tiles
    if (call.state === CallState.DISCONNECTED) {
      clearInterval(this._timer);
      clearInterval(this._statsTimer);
      $("call").hidden = true;
      $("dialer").hidden = false;
      for (const tile of document.querySelectorAll(".tile.remote")) tile.remove();
      $("local-video").srcObject = null;
      this._ended(`Call ended: ${describeReason(call.callEndReason)}`);
    }
  }

  _ended(text) {
    $("end-reason").textContent = text;
    $("ended").hidden = false;
  }

  _renderTimer() {
    const start = this.call && this.call.startTime;
    if (!start) return;
    const s = Math.floor((Date.now() - start) / 1000);
    $("call-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  _renderControls() {
    const call = this.call;
    $("mute").textContent = call.isMuted ? "Unmute" : "Mute";
    $("video").textContent = call.isLocalVideoOn ? "Stop video" : "Start video";
    $("hold").textContent = call.isOnHold ? "Resume" : "Hold";
    $("mute").classList.toggle("on", call.isMuted);
    $("hold").classList.toggle("on", call.isOnHold);
  }

  _renderLocal() {
    const video = $("local-video");
    const track = this.call && this.call.isLocalVideoOn ? this.devices.cameraTrack : null;
    video.srcObject = track ? new MediaStream([track]) : null;
    this._renderControls();
  }

  _renderTiles() {
    const call = this.call;
    const tiles = $("tiles");
    for (const tile of tiles.querySelectorAll(".tile.remote")) {
      if (!call.remoteParticipants.has(tile.dataset.userId)) tile.remove();
    }
    const count = call.remoteParticipants.size;
    const people = [...call.remoteParticipants.values()].map((p) => `${p.displayName || p.userId} (${p.state})`);
    $("roster").textContent = people.length ? `In this call: ${people.join(", ")}` : "";
    tiles.className = `tiles ${count <= 1 ? "n1" : count <= 4 ? `n${count}` : "many"}`;
    $("stage").classList.toggle("with-remote", count > 0);
    for (const p of call.remoteParticipants.values()) {
      let tile = tiles.querySelector(`.tile.remote[data-user-id="${CSS.escape(p.userId)}"]`);
      if (!tile) {
        tile = document.createElement("div");
        tile.className = "tile remote";
        tile.dataset.userId = p.userId;
        tile.innerHTML = '<div class="placeholder"></div><video autoplay playsinline muted></video><audio class="remote" autoplay></audio><span class="label"></span><span class="quality" title="network quality"></span><div class="overlay" hidden></div>';
        tiles.appendChild(tile);
      }
      const video = tile.querySelector("video");
      const audio = tile.querySelector("audio");
      if (p.stream && video.srcObject !== p.stream) {
        video.srcObject = p.stream;
        audio.srcObject = p.stream;
        this.devices.route(audio);
      }
      const showing = p.stream && p.isVideoOn && !p.isOnHold && !call.isOnHold;
      video.style.visibility = showing ? "visible" : "hidden";
      const overlay = tile.querySelector(".overlay");
      overlay.textContent = call.isOnHold ? "You put the call on hold" : p.isOnHold ? `${p.displayName || "They"} put the call on hold` : "";
      overlay.hidden = !overlay.textContent;
      tile.querySelector(".placeholder").textContent = showing ? "" : initials(p.displayName);
      const marks = [p.state !== "Connected" ? p.state : "", p.isMuted ? "muted" : "", p.isOnHold ? "on hold" : "", p.isRecording ? "recording" : ""].filter(Boolean);
      tile.querySelector(".label").textContent = [p.displayName || p.userId, ...marks].join(" · ");
    }
  }

  /** Twice a second, from each link's getStats: each tile's network dot and speaking border, and the stats drawer
   * (the Python collector's metrics). The speaking level is the received audio's `audioLevel`: no Web Audio graph. */
  async _renderStats() {
    const call = this.call;
    if (!call) return;
    const rows = [];
    for (const [userId, link] of call.links) {
      const stats = await linkStats(link, userId);
      const name = userId === "sfu" ? "SFU" : (call.remoteParticipants.get(userId) || {}).displayName || userId;
      for (const row of stats.rows) rows.push([name, ...row]);
      const tile = document.querySelector(`.tile.remote[data-user-id="${CSS.escape(userId)}"]`);
      if (tile) {
        const level = quality(stats);
        const dot = tile.querySelector(".quality");
        dot.className = `quality ${level}`;
        dot.title = `network: ${level} (RTT ${stats.rtt ?? "?"} ms, loss ${stats.lossPercent.toFixed(1)} %)`;
        tile.classList.toggle("speaking", stats.audioLevel > SPEAKING_LEVEL);
      }
    }
    if (!$("stats-drawer").open) return; // folded: nothing to draw
    const body = $("stats-table").tBodies[0];
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) tr.appendChild(Object.assign(document.createElement("td"), { textContent: cell ?? "–" }));
      return tr;
    }));
  }

  _renderDevices() {
    for (const [key, list] of [["camera", this.devices.cameras], ["microphone", this.devices.microphones], ["speaker", this.devices.speakers]]) {
      const select = $(`${key}-select`);
      select.replaceChildren(...list.map((d) => new Option(d.name, d.id, false, d.id === this.devices.selected[key])));
      select.disabled = !list.length;
    }
  }

  /** The people the service knows, live: online first; a button calls each. Names are text, never markup. */
  async _fillUsers() {
    if (!this.agent) return;
    const users = (await listUsers()).filter((u) => u.userId !== this.agent.userId);
    users.sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
    $("users").replaceChildren(...users.map((u) => new Option(u.displayName || u.name, u.name)));
    $("people-list").replaceChildren(...users.map((u) => {
      const item = document.createElement("li");
      item.dataset.name = u.name;
      const dot = Object.assign(document.createElement("span"), { className: `dot${u.online ? " online" : ""}`, title: u.online ? "online" : "offline" });
      const name = Object.assign(document.createElement("span"), { textContent: u.displayName || u.name });
      const call = Object.assign(document.createElement("button"), { textContent: "Call", disabled: !u.online });
      call.setAttribute("aria-label", `Call ${u.displayName || u.name}`);
      call.onclick = () => (($("callee").value = u.name), this.dial(true));
      item.append(dot, name, call);
      return item;
    }));
    if (!users.length) $("people-list").replaceChildren(Object.assign(document.createElement("li"), { textContent: "Nobody else yet: open this page in another tab or on a phone." }));
  }

  async _guard(action) {
    try {
      return await action();
    } catch (error) {
      console.warn("labkit:", error);
      this.showError(error);
    }
  }
}
