// One of the kernel's videos, shown in a native <video>: the stream arrives over the
// browser bridge (browser_media.js), which keeps its streams by key in globalThis.labkitBridges.

const bridges = (globalThis.labkitBridges ??= new Map());
const bridgeEvents = (globalThis.labkitBridgeEvents ??= new EventTarget());

export default {
  render({ model, el }) {
    const video = document.createElement("video");
    video.className = "labkit-browser-video";
    Object.assign(video, { autoplay: true, muted: true, playsInline: true });
    const style = () => {
      Object.assign(video.style, {
        width: `${model.get("width")}px`,
        height: `${model.get("height")}px`,
        objectFit: "cover",
        background: "#263238",
        transform: model.get("mirrored") ? "scaleX(-1)" : "",
      });
    };
    const attach = () => {
      const bridge = bridges.get(model.get("bridge_id"));
      const stream = (bridge && bridge.outputs.get(model.get("key"))) || null;
      if (video.srcObject !== stream) video.srcObject = stream;
    };
    style();
    attach();
    model.on("change:mirrored", style);
    model.on("change:key", attach);
    bridgeEvents.addEventListener("outputs", attach);
    el.appendChild(video);
    return () => {
      bridgeEvents.removeEventListener("outputs", attach);
      model.off("change:mirrored", style);
      model.off("change:key", attach);
    };
  },
};
