"""The collector's maths: counters into per-second rates, samples into summaries (labkit).

W3C stats are cumulative counters (``bytesSent``, ``packetsReceived``, ...); ACS's media
stats report rates (``bitrate``, ``packetsPerSecond``). ``CounterRates`` turns one into the
other; ``summarize`` gives ACS's aggregates (mean, minimum, maximum) over a window. Both are
pure, so they are tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class _Previous:
    at: float
    values: dict[str, float] = field(default_factory=dict)


class CounterRates:
    """Per-second rates of named counters, per key (a participant, direction and kind)."""

    def __init__(self) -> None:
        self._previous: dict[Hashable, _Previous] = {}

    def update(self, key: Hashable, counters: Mapping[str, float], now: float) -> dict[str, float]:
        """The rate of each counter since the last update of ``key``: 0.0 the first time.

        A counter that went down (a restarted stream) counts as 0, never as negative.
        """
        previous = self._previous.get(key)
        self._previous[key] = _Previous(now, dict(counters))
        if previous is None:
            return {name: 0.0 for name in counters}
        elapsed = max(now - previous.at, 1e-6)
        return {name: max(0.0, value - previous.values.get(name, value)) / elapsed for name, value in counters.items()}


Aggregates = dict[tuple[str, str, str, str], tuple[float, float, float]]
"""(participant, direction, kind, metric) -> (mean, minimum, maximum)."""


Point = tuple[float, tuple[str, str, str], Mapping[str, object]]
"""(time, (participant, direction, kind), metrics): one sample."""


def summarize(points: Iterable[Point], start: float, end: float) -> Aggregates:
    """Mean, minimum and maximum of each numeric metric of the points with ``start < time <= end``.

    Each point is (time, (participant, direction, kind), metrics); metrics that are not
    numbers (codec names, ``None``) are left out.
    """
    grouped: dict[tuple[str, str, str, str], list[float]] = {}
    for at, (participant, direction, kind), metrics in points:
        if start < at <= end:
            for metric, value in metrics.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    grouped.setdefault((participant, direction, kind, metric), []).append(float(value))
    return {key: (sum(v) / len(v), min(v), max(v)) for key, v in grouped.items()}
