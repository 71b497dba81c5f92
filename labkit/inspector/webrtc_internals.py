"""A chrome://webrtc-internals dump of labkit's own connections, for the tools that read one (labkit).

Chrome's "Create a WebRTC-Internals dump" saves JSON with the shape written here, and
importers such as webrtc-dump-importer draw it: per peer connection an ``updateLog`` (each
API call and state change, timestamped) and ``stats``, one time series per statistic,
keyed ``<stats id>-<attribute>``, its ``values`` a JSON array as a string, with a
``<stats id>-timestamp`` series beside them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiortc import RTCStatsReport
from aiortc import __version__ as aiortc_version

from .._version import __version__ as labkit_version

UPDATE_EVENTS = {
    "signaling": "signalingstatechange",
    "ice": "iceconnectionstatechange",
    "ice-gathering": "icegatheringstatechange",
    "connection": "connectionstatechange",
    "dtls": "dtlsstatechange",
}
"""The timeline's names -> the updateLog's event types."""


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """What one peer connection did: its updates and its stats over time (wall-clock seconds)."""

    name: str
    updates: Sequence[tuple[float, str, str]]
    """(wall-clock time, updateLog type, value)."""
    stats: Sequence[tuple[float, RTCStatsReport]]
    """(wall-clock time, the ``getStats()`` report taken then)."""
    configuration: Mapping[str, object]


def dump(connections: Iterable[ConnectionRecord], url: str) -> dict[str, Any]:
    """The dump as a dict (``json.dumps`` it, or use ``write``)."""
    peer_connections = {}
    for number, record in enumerate(connections, start=1):
        peer_connections[f"{os.getpid()}-{number}"] = {
            "pid": os.getpid(),
            "url": url,
            "rtcConfiguration": dict(record.configuration),
            "constraints": "",
            "updateLog": [{"time": _iso(at), "type": kind, "value": value} for at, kind, value in record.updates],
            "stats": _series(record.stats),
        }
    return {
        "getUserMedia": [],
        "getDisplayMedia": [],
        "PeerConnections": peer_connections,
        "UserAgent": f"labkit/{labkit_version} aiortc/{aiortc_version} (Python)",
    }


def _series(samples: Sequence[tuple[float, RTCStatsReport]]) -> dict[str, dict[str, str]]:
    """Each statistic of each stats object over time: Chrome's ``<id>-<attribute>`` series."""
    collected: dict[str, dict[str, Any]] = {}
    for at, report in samples:
        for stats_id, stats in report.items():
            fields = {field.name: getattr(stats, field.name) for field in dataclasses.fields(stats)}
            kind = str(fields.pop("type", ""))
            fields.pop("id", None)
            fields["timestamp"] = at * 1000  # Chrome's series carry milliseconds since the epoch
            for name, value in fields.items():
                key = f"{stats_id}-{name}"
                series = collected.setdefault(key, {"statsType": kind, "start": at, "end": at, "values": []})
                series["end"] = at
                series["values"].append(_plain(value))
    return {
        key: {
            "startTime": _iso(series["start"]),
            "endTime": _iso(series["end"]),
            "statsType": series["statsType"],
            "values": json.dumps(series["values"]),
        }
        for key, series in collected.items()
    }


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp() * 1000
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
