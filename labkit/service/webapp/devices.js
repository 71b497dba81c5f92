// Cameras, microphones and speakers. ACS: DeviceManager.

export class PermissionError extends Error {
  constructor(kind, cause) {
    const what = kind === "video" ? "camera" : "microphone";
    super(`The ${what} could not be opened: ${cause.name}: ${cause.message}`);
    this.kind = kind;
    this.hint =
      cause.name === "NotAllowedError"
        ? `Allow the ${what} in the browser's site settings, then try again.` +
          (window.isSecureContext ? "" : " Browsers only offer devices to https:// pages or to localhost.")
        : `Check that a ${what} is connected and not in use by another program.`;
  }
}

/** The devices this page can use, the ones picked, and the open microphone and camera tracks. */
export class DeviceManager extends EventTarget {
  constructor() {
    super();
    this.cameras = [];
    this.microphones = [];
    this.speakers = [];
    this.selected = { camera: "", microphone: "", speaker: "" };
    this.microphoneTrack = null;
    this.cameraTrack = null;
    navigator.mediaDevices?.addEventListener("devicechange", () => this.refresh());
  }

  get available() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /** ACS askDevicePermission: prompt for the devices, then list them with their labels. */
  async askDevicePermission({ audio = true, video = true } = {}) {
    const granted = { audio: false, video: false };
    for (const kind of ["audio", "video"]) {
      if (!(kind === "audio" ? audio : video)) continue;
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
        stream.getTracks().forEach((t) => t.stop());
        granted[kind] = true;
      } catch (error) {
        console.warn(`labkit: ${kind} permission`, error);
      }
    }
    await this.refresh();
    return granted;
  }

  async refresh() {
    if (!this.available) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    const pick = (kind, fallback) =>
      all.filter((d) => d.kind === kind).map((d, i) => ({ id: d.deviceId, name: d.label || `${fallback} ${i + 1}` }));
    this.cameras = pick("videoinput", "Camera");
    this.microphones = pick("audioinput", "Microphone");
    this.speakers = "setSinkId" in HTMLMediaElement.prototype ? pick("audiooutput", "Speaker") : [];
    for (const [key, list] of [["camera", this.cameras], ["microphone", this.microphones], ["speaker", this.speakers]]) {
      if (!list.some((d) => d.id === this.selected[key])) this.selected[key] = list.length ? list[0].id : "";
    }
    this.dispatchEvent(new Event("changed"));
  }

  /** The open microphone track, opened on first use. */
  async openMicrophone() {
    if (this.microphoneTrack && this.microphoneTrack.readyState === "live") return this.microphoneTrack;
    this.microphoneTrack = await this._open("audio", this.selected.microphone);
    return this.microphoneTrack;
  }

  async openCamera() {
    if (this.cameraTrack && this.cameraTrack.readyState === "live") return this.cameraTrack;
    this.cameraTrack = await this._open("video", this.selected.camera);
    return this.cameraTrack;
  }

  closeCamera() {
    if (this.cameraTrack) this.cameraTrack.stop();
    this.cameraTrack = null;
  }

  closeAll() {
    this.closeCamera();
    if (this.microphoneTrack) this.microphoneTrack.stop();
    this.microphoneTrack = null;
  }

  /** Pick a device. An open camera or microphone moves to it: the new track opens, ``use(track)``
   * puts it in place (the calls' senders), and only then does the old one stop, so the call never
   * goes dark in between. Returns the new track, if one was open. */
  async select(key, id, use = async () => {}) {
    this.selected[key] = id;
    let track = null;
    const slot = key === "camera" ? "cameraTrack" : key === "microphone" ? "microphoneTrack" : null;
    const old = slot && this[slot];
    if (old) {
      track = await this._open(key === "camera" ? "video" : "audio", id);
      track.enabled = old.enabled; // a muted microphone stays muted
      await use(track);
      this[slot] = track;
      old.stop();
    }
    this.dispatchEvent(new Event("changed")); // the pickers show the choice, whoever made it
    return track;
  }

  /** The camera after the selected one, round the list (ACS: switchSource to the next camera). */
  nextCamera() {
    const i = this.cameras.findIndex((d) => d.id === this.selected.camera);
    return this.cameras.length ? this.cameras[(i + 1) % this.cameras.length].id : "";
  }

  async _open(kind, deviceId) {
    if (!this.available) throw new PermissionError(kind, { name: "NotSupportedError", message: "this page has no navigator.mediaDevices" });
    const constraints = deviceId ? { deviceId: { exact: deviceId } } : true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        kind === "video" ? { video: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), width: 640, height: 480 } } : { audio: constraints },
      );
    } catch (error) {
      throw new PermissionError(kind, error);
    }
    const track = stream.getTracks()[0];
    const setting = track.getSettings().deviceId;
    if (setting) this.selected[kind === "video" ? "camera" : "microphone"] = setting;
    if (!this.cameras.length && !this.microphones.length) await this.refresh();
    return track;
  }

  /** Play an element on the picked speaker, where the browser can choose. */
  async route(element) {
    if (this.selected.speaker && element.setSinkId) {
      try {
        await element.setSinkId(this.selected.speaker);
      } catch (error) {
        console.warn("labkit: setSinkId", error);
      }
    }
  }
}
