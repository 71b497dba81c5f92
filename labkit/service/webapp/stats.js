// A link's getStats() as the Python collector reports it (labkit.stats): per direction and kind, the
// bitrate, packets, loss, jitter, RTT, frame rate and size, as rates over the last second; and a
// network quality with the Python diagnostics' thresholds (labkit.stats.diagnostics.THRESHOLDS).

const THRESHOLDS = { loss: [0.03, 0.1], jitter: [30, 100], rtt: [200, 500] };
const previous = new WeakMap(); // link -> {at, byId}: the last report, for rates

function rate(now, before, key, seconds) {
  if (!before || now[key] === undefined || before[key] === undefined || seconds <= 0) return null;
  return (now[key] - before[key]) / seconds;
}

const round = (value, digits = 0) => (value === null || value === undefined || Number.isNaN(value) ? null : Number(value.toFixed(digits)));

/** Rows [direction, kind, kbit/s, packets/s, lost/s, jitter ms, RTT ms, frames/s, size]; the link's loss, RTT and
 * received audio level (`audioLevel`, linear). */
export async function linkStats(link) {
  const report = await link.pc.getStats();
  const at = performance.now();
  const last = previous.get(link);
  const seconds = last ? (at - last.at) / 1000 : 0;
  const byId = new Map();
  report.forEach((stat) => byId.set(stat.id, stat));
  previous.set(link, { at, byId });
  const rows = [];
  let rtt = null;
  let lost = 0;
  let packets = 0;
  let audioLevel = 0;
  report.forEach((stat) => {
    if (stat.type === "remote-inbound-rtp" && stat.roundTripTime !== undefined) rtt = Math.max(rtt ?? 0, stat.roundTripTime * 1000);
    if (stat.type !== "inbound-rtp" && stat.type !== "outbound-rtp") return;
    const before = last && last.byId.get(stat.id);
    const inbound = stat.type === "inbound-rtp";
    if (inbound && stat.kind === "audio" && stat.audioLevel !== undefined) audioLevel = Math.max(audioLevel, stat.audioLevel);
    const bytes = rate(stat, before, inbound ? "bytesReceived" : "bytesSent", seconds);
    const count = rate(stat, before, inbound ? "packetsReceived" : "packetsSent", seconds);
    const lostRate = inbound ? rate(stat, before, "packetsLost", seconds) : null;
    if (inbound && count !== null) {
      packets += count + Math.max(0, lostRate ?? 0);
      lost += Math.max(0, lostRate ?? 0);
    }
    const frames = rate(stat, before, inbound ? "framesDecoded" : "framesEncoded", seconds);
    const size = stat.frameWidth ? `${stat.frameWidth}x${stat.frameHeight}` : null;
    const remote = !inbound && [...byId.values()].find((r) => r.type === "remote-inbound-rtp" && r.localId === stat.id);
    const jitter = inbound ? stat.jitter : remote ? remote.jitter : undefined;
    const pathRtt = remote && remote.roundTripTime !== undefined ? remote.roundTripTime * 1000 : null;
    rows.push([
      inbound ? "receive" : "send",
      stat.kind,
      round(bytes === null ? null : (bytes * 8) / 1000),
      round(count),
      inbound ? round(Math.max(0, lostRate ?? 0), 1) : null,
      round(jitter === undefined ? null : jitter * 1000, 1),
      round(pathRtt, 1),
      stat.kind === "video" ? round(frames, 1) : null,
      size,
    ]);
  });
  rows.sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));
  return { rows, audioLevel, rtt: round(rtt, 1), lossPercent: packets > 0 ? (100 * lost) / packets : 0, jitter: Math.max(0, ...rows.map((r) => r[5] ?? 0)) };
}

/** "good", "poor" or "bad", as labkit.stats.diagnostics judges a link. */
export function quality(stats) {
  const measures = { loss: stats.lossPercent / 100, jitter: stats.jitter, rtt: stats.rtt ?? 0 };
  let level = 0;
  for (const [name, [poor, bad]] of Object.entries(THRESHOLDS)) {
    const value = measures[name];
    level = Math.max(level, value >= bad ? 2 : value >= poor ? 1 : 0);
  }
  return ["good", "poor", "bad"][level];
}
