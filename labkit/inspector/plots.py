"""The inspector's figures: the signaling as a sequence diagram, and where a call's setup time went (labkit).

Both take an ``InspectorFeature`` and draw with matplotlib, on a new ``Figure`` or the one
given (``figure=plt.figure()`` in a notebook, to show it with ``plt.show()``).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .inspector_feature import InspectorFeature

LANES = ("signaling", "SDP", "ICE", "DTLS", "connection", "media", "events")
SERVICE = "service"


def plot_sequence(inspector: InspectorFeature, limit: int = 60, *, figure: Figure | None = None) -> Figure:
    """The call's first ``limit`` messages as a sequence diagram: you | service | each peer.

    A signal (offer, answer, candidate) goes through the service to its peer, so its arrow
    crosses both lanes; every other message is between you and the service.
    """
    rows = inspector.signaling()[:limit]
    media = inspector.call.media
    peers = {row.peer for row in rows if row.peer}
    names = {user_id: (p.display_name or user_id) for user_id, p in media.participants.items()}
    lanes = [f"{media.local_name or 'you'} (you)", SERVICE, *[names.get(p, p) for p in sorted(peers)]]
    x = {lane: index for index, lane in enumerate(lanes)}
    figure = figure or Figure()
    figure.set_size_inches(2.4 * len(lanes) + 2, max(4.0, 0.32 * len(rows) + 1.5))
    ax: Axes = figure.add_subplot()
    for lane, at in x.items():
        ax.axvline(at, color="#999", linewidth=1)
        ax.text(at, -0.8, lane, ha="center", va="bottom", fontsize=9, fontweight="bold")
    me, service = 0, x[SERVICE]
    for index, row in enumerate(rows):
        far = x.get(names.get(row.peer, row.peer), service) if row.peer else service
        start, end = (me, far) if row.direction == "sent" else (far, me)
        colour = "#1f77b4" if row.direction == "sent" else "#d62728"
        ax.annotate("", xy=(end, index), xytext=(start, index), arrowprops={"arrowstyle": "->", "color": colour})
        label = f"{row.type}  +{row.time_ms:.0f} ms"
        ax.text((start + end) / 2, index - 0.12, label, ha="center", va="bottom", fontsize=7)
    ax.set_xlim(-0.6, len(lanes) - 0.4)
    ax.set_ylim(len(rows), -1.2)
    ax.set_axis_off()
    ax.set_title("signaling, in order (blue: sent, red: received)", fontsize=10)
    figure.tight_layout()
    return figure


def plot_setup_timeline(
    inspector: InspectorFeature, until_ms: float | None = None, *, figure: Figure | None = None
) -> Figure:
    """Every moment of the call's setup on one time axis, a lane per layer (ms since its first message)."""
    entries = [e for e in inspector.setup_timeline() if until_ms is None or e.time_ms <= until_ms]
    figure = figure or Figure()
    figure.set_size_inches(11, 4.5)
    ax: Axes = figure.add_subplot()
    lanes = [lane for lane in LANES if any(e.lane == lane for e in entries)]
    lanes += sorted({e.lane for e in entries} - set(lanes))
    y = {lane: index for index, lane in enumerate(lanes)}
    colours = {lane: f"C{index}" for index, lane in enumerate(lanes)}
    placed: dict[str, int] = {}
    for entry in entries:
        row = placed[entry.lane] = placed.get(entry.lane, -1) + 1
        at = (entry.time_ms, y[entry.lane])
        ax.plot(*at, "o", markersize=4, color=colours[entry.lane])
        offset = 0.12 + 0.13 * (row % 3)  # the labels of one lane take turns at three heights
        ax.annotate(entry.label, at, (at[0], at[1] + offset), fontsize=6, color=colours[entry.lane])
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_xlabel("milliseconds since the call's first message")
    ax.set_ylim(-0.5, len(lanes) + 0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("where the setup time went")
    figure.tight_layout()
    return figure
