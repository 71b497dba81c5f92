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
      const fluid = model.get("width") === 0; // 0: as wide as its tile, 4:3
      Object.assign(video.style, {
        width: fluid ? "100%" : `${model.get("width")}px`,
        height: fluid ? "auto" : `${model.get("height")}px`,
        aspectRatio: fluid ? "4 / 3" : "",
        display: "block",
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
    model.on("change:width", style);
    model.on("change:key", attach);
    bridgeEvents.addEventListener("outputs", attach);
    el.appendChild(video);
    return () => {
      bridgeEvents.removeEventListener("outputs", attach);
      model.off("change:mirrored", style);
      model.off("change:width", style);
      model.off("change:key", attach);
    };
  },
};
