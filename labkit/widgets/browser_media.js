// The page side of labkit's browser bridge (labkit/media/page_link.py is the kernel side).
//
// One RTCPeerConnection per BrowserMedia model, made when the page creates the model
// (anywidget's initialize), signalled over the widget's custom messages. The kernel offers;
// this page answers. It sends the cameras and microphones the kernel asks for, shows the
// kernel's videos in <video> elements (BrowserVideo views) and plays the kernel's speaker.

const bridges = (globalThis.labkitBridges ??= new Map());
const bridgeEvents = (globalThis.labkitBridgeEvents ??= new EventTarget());
const GATHER_TIMEOUT_MS = 3000;
const HELLO_INTERVAL_MS = 1000;
const HELLO_ATTEMPTS = 120;

class PageBridge {
  constructor(model) {
    this.model = model;
    this.pc = null;
    this.sent = new Map(); // mid -> {deviceId, track}: what this page sends
    this.outputs = new Map(); // key -> MediaStream: what the kernel shows here
    this.speaker = new Audio();
    this.speaker.autoplay = true;
    this.queue = Promise.resolve();
    this.onMessage = (message) => {
      this.queue = this.queue.then(() => this.receive(message)).catch((e) => console.warn("labkit bridge:", e));
    };
    this.onDeviceChange = () => this.sendDevices();
    model.on("msg:custom", this.onMessage);
    navigator.mediaDevices?.addEventListener("devicechange", this.onDeviceChange);
    this.reset();
    this.welcomed = false;
    this.closed = false;
    this.pageId = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
    this.sayHello();
    this.sendDevices();
  }

  // Hello until the kernel answers "welcome": a message sent while the kernel or the page's
  // widget manager is still starting can be lost. The kernel ignores repeats of the same page id.
  sayHello(attempt = 0) {
    if (this.welcomed || this.closed) return;
    if (attempt === HELLO_ATTEMPTS) {
      console.warn(`labkit bridge: the kernel did not answer ${HELLO_ATTEMPTS} hellos; is it busy?`);
      return;
    }
    this.model.send({
      type: "hello",
      page: this.pageId,
      secureContext: window.isSecureContext,
      mediaDevices: Boolean(navigator.mediaDevices),
    });
    this.helloTimer = setTimeout(() => this.sayHello(attempt + 1), HELLO_INTERVAL_MS);
  }

  reset() {
    if (this.pc) this.pc.close();
    for (const { track } of this.sent.values()) track.stop();
    this.sent.clear();
    this.outputs.clear();
    this.pc = new RTCPeerConnection({ iceServers: [] });
    bridgeEvents.dispatchEvent(new Event("outputs"));
  }

  close() {
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.model.off("msg:custom", this.onMessage);
    navigator.mediaDevices?.removeEventListener("devicechange", this.onDeviceChange);
    this.reset();
    this.pc.close();
    this.speaker.srcObject = null;
  }

  async receive(message) {
    if (message.type === "welcome") {
      if (message.page === this.pageId) this.welcomed = true;
      return;
    }
    if (message.type === "offer") return this.answer(message);
    if (message.type === "ask-permission") return this.askPermission(message);
    if (message.type === "route-speaker") return this.routeSpeaker(message.deviceId);
  }

  async answer({ sdp, sources, outputs, speaker }) {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    for (const transceiver of this.pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid in sources) {
        await this.send(transceiver, sources[mid]);
      } else {
        this.unsend(transceiver);
        transceiver.direction = mid in outputs || mid === speaker ? "recvonly" : "inactive";
      }
    }
    const previous = this.outputs;
    this.outputs = new Map();
    for (const transceiver of this.pc.getTransceivers()) {
      const key = outputs[transceiver.mid];
      const track = transceiver.receiver.track;
      if (key) {
        const kept = previous.get(key);
        this.outputs.set(key, kept && kept.getTracks()[0] === track ? kept : new MediaStream([track]));
      }
      if (transceiver.mid === speaker && this.speaker.srcObject?.getTracks()[0] !== transceiver.receiver.track) {
        this.speaker.srcObject = new MediaStream([transceiver.receiver.track]);
        this.speaker.play().catch((e) => console.info("labkit bridge: the speaker waits for a click", e.name));
      }
    }
    await this.pc.setLocalDescription();
    await this.gathered();
    this.model.send({ type: "answer", sdp: this.pc.localDescription.sdp });
    bridgeEvents.dispatchEvent(new Event("outputs"));
  }

  async send(transceiver, deviceId) {
    const mid = transceiver.mid;
    const current = this.sent.get(mid);
    if (current && current.deviceId === deviceId && current.track.readyState === "live") {
      transceiver.direction = "sendonly";
      return;
    }
    const kind = transceiver.receiver.track.kind;
    let track;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        [kind]: kind === "video" ? { deviceId: { exact: deviceId }, width: 640, height: 480 } : { deviceId: { exact: deviceId } },
      });
      track = stream.getTracks()[0];
    } catch (error) {
      this.unsend(transceiver);
      transceiver.direction = "inactive";
      this.model.send({ type: "source-failed", mid, name: error.name, error: error.message || String(error) });
      return;
    }
    await transceiver.sender.replaceTrack(track);
    if (current) current.track.stop();
    this.sent.set(mid, { deviceId, track });
    transceiver.direction = "sendonly";
  }

  unsend(transceiver) {
    const current = this.sent.get(transceiver.mid);
    if (!current) return;
    current.track.stop();
    transceiver.sender.replaceTrack(null);
    this.sent.delete(transceiver.mid);
  }

  async askPermission({ ref, audio, video }) {
    const reply = { type: "permission", ref, errors: {} };
    for (const kind of ["audio", "video"]) {
      if (!(kind === "audio" ? audio : video)) continue;
      try {
        if (!navigator.mediaDevices) throw new DOMException("this page has no navigator.mediaDevices (http off localhost?)", "NotSupportedError");
        const stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
        stream.getTracks().forEach((t) => t.stop());
        reply[kind] = true;
      } catch (error) {
        reply[kind] = false;
        reply.errors[kind] = `${error.name}: ${error.message}`;
      }
    }
    await this.sendDevices();
    this.model.send(reply);
  }

  async routeSpeaker(deviceId) {
    if (this.speaker.setSinkId) await this.speaker.setSinkId(deviceId === "default" ? "" : deviceId);
  }

  async sendDevices() {
    const devices = navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
    this.model.send({
      type: "devices",
      devices: devices.map((d) => ({ kind: d.kind, deviceId: d.deviceId, label: d.label })),
    });
  }

  gathered() {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const pc = this.pc;
      const done = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_TIMEOUT_MS);
    });
  }
}

export default {
  initialize({ model }) {
    const bridge = new PageBridge(model);
    bridges.set(model.get("bridge_id"), bridge);
    return () => {
      bridge.close();
      bridges.delete(model.get("bridge_id"));
    };
  },
  render({ model, el }) {
    const line = document.createElement("div");
    line.className = "labkit-browser-media";
    const show = () => (line.textContent = model.get("status"));
    show();
    model.on("change:status", show);
    el.appendChild(line);
    return () => model.off("change:status", show);
  },
};

