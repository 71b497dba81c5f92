"""Matplotlib figures of a call's vital signs, with the call's events marked on the time axis.

``plot_call(source)`` draws one figure from a collector, a DataFrame or tidy rows.
``LiveCallPlot(collector)`` keeps one figure up to date while the call runs. The data side
(``CallSeries``) is separate from the drawing, so widgets can reuse either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .collector import MediaStatsCollector

Row = tuple[float, str, str, str, str, Any]


@dataclass(frozen=True, slots=True)
class Series:
    """One plotted line: where its values come from and how they are scaled."""

    label: str
    direction: str
    kind: str
    metric: str
    scale: float = 1.0
    style: str = "-"


PANELS: tuple[tuple[str, tuple[Series, ...]], ...] = (
    (
        "bitrate (kbps)",
        (
            Series("send video", "send", "video", "bitrate", 1 / 1000),
            Series("receive video", "receive", "video", "bitrate", 1 / 1000),
            Series("send audio", "send", "audio", "bitrate", 1 / 1000),
            Series("receive audio", "receive", "audio", "bitrate", 1 / 1000),
            Series("encoder target (REMB)", "send", "video", "target_bitrate", 1 / 1000, "--"),
        ),
    ),
    (
        "frame rate (fps)",
        (
            Series("sent", "send", "video", "frame_rate_sent"),
            Series("received", "receive", "video", "frame_rate_received"),
            Series("decoded", "receive", "video", "frame_rate_decoded", style=":"),
        ),
    ),
    (
        "round-trip time (ms)",
        (Series("audio", "send", "audio", "rtt_in_ms"), Series("video", "send", "video", "rtt_in_ms")),
    ),
    (
        "jitter (ms)",
        (
            Series("receive audio", "receive", "audio", "jitter_in_ms"),
            Series("receive video", "receive", "video", "jitter_in_ms"),
        ),
    ),
    (
        "packets lost per second",
        (
            Series("receive audio", "receive", "audio", "packets_lost_per_second"),
            Series("receive video", "receive", "video", "packets_lost_per_second"),
            Series("send (peer reports)", "send", "video", "packets_lost_per_second", style=":"),
        ),
    ),
)


class CallSeries:
    """The numbers behind the plots: per participant and series, the (times, values)."""

    def __init__(self, rows: Iterable[Row], events: Sequence[tuple[float, str]] = ()) -> None:
        self.events = list(events)
        self._data: dict[tuple[str, str, str, str], tuple[list[float], list[float]]] = {}
        for time, participant, direction, kind, metric, value in rows:
            if isinstance(value, int | float):
                times, values = self._data.setdefault((participant, direction, kind, metric), ([], []))
                times.append(float(time))
                values.append(float(value))

    @classmethod
    def of(cls, source: MediaStatsCollector | Any) -> CallSeries:
        """From a collector, a DataFrame with the collector's columns, or an iterable of rows."""
        if isinstance(source, MediaStatsCollector):
            return cls(source.rows(), source.events)
        if hasattr(source, "itertuples"):
            return cls(source[["time", "participant", "direction", "kind", "metric", "value"]].itertuples(index=False))
        return cls(source)

    @property
    def participants(self) -> list[str]:
        return sorted({key[0] for key in self._data})

    def get(self, participant: str, series: Series) -> tuple[list[float], list[float]]:
        times, values = self._data.get((participant, series.direction, series.kind, series.metric), ([], []))
        return times, [v * series.scale for v in values]


def _draw(axes: Sequence[Axes], data: CallSeries, participant: str | None) -> None:
    who = [participant] if participant else data.participants
    for ax, (title, series) in zip(axes, PANELS, strict=True):
        ax.clear()
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        for name in who:
            for line in series:
                times, values = data.get(name, line)
                if times:
                    label = line.label if len(who) == 1 else f"{name}: {line.label}"
                    ax.plot(times, values, line.style, label=label)
        if ax.get_lines():
            ax.legend(loc="upper left", fontsize="small")
        for at, _ in data.events:
            ax.axvline(at, color="grey", linestyle="--", linewidth=0.8)
    top = axes[0]
    for at, label in data.events:
        top.annotate(
            label,
            (at, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=45,
            fontsize="small",
            va="bottom",
            ha="left",
        )
    axes[-1].set_xlabel("time in the call (s)")


def plot_call(
    source: MediaStatsCollector | Any, participant: str | None = None, *, figure: Figure | None = None
) -> Figure:
    """One figure: bitrate (with the encoder's target), frame rate, RTT, jitter and loss, with the call's events."""
    data = CallSeries.of(source)
    fig = figure or Figure(figsize=(10, 13), layout="constrained")
    axes = fig.axes or list(fig.subplots(len(PANELS), 1, sharex=True))
    _draw(axes, data, participant)
    return fig


def save_plot(source: MediaStatsCollector | Any, path: str | Path, participant: str | None = None) -> Path:
    """``plot_call`` saved as a PNG."""
    target = Path(path)
    plot_call(source, participant).savefig(target, dpi=90)
    return target


class LiveCallPlot:
    """A figure that redraws itself in place after each sample of ``collector``.

    In a notebook, ``display(live.figure)`` once with an interactive backend (ipympl),
    or call ``live.png()`` for a fresh PNG each time (the stats panel does this).
    """

    def __init__(self, collector: MediaStatsCollector, participant: str | None = None) -> None:
        self.collector = collector
        self.participant = participant
        self.figure = plot_call(collector, participant)
        self._handler = collector.on("sample_reported", lambda _: self.update())

    def update(self) -> None:
        _draw(self.figure.axes, CallSeries.of(self.collector), self.participant)
        if self.figure.canvas is not None:
            self.figure.canvas.draw_idle()

    def png(self) -> bytes:
        from io import BytesIO

        buffer = BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def close(self) -> None:
        self.collector.off("sample_reported", self._handler)
