"""The media stats collector. ACS: ``MediaStatsCollector`` from ``createCollector``.

Every ``sample_interval`` it samples each peer connection of the call on the engine
thread, from three sources:
- **aiortc's ``getStats()``:** bytes and packets sent; loss, jitter and RTT from RTCP;
- **labkit's own counters:** received bytes, packets and frames at each receiver; frames
  and sizes at each encoder input; decoded frames and freezes at each video sink; audio
  levels at the microphone feed and at each remote audio sink;
- **the encoder's target bitrate:** aiortc's congestion-control (REMB) estimate.

Events: ``sample_reported`` (``MediaStatsReport``) each interval, and
``summary_reported`` (``MediaStatsSummary``) every ``summary_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpSender, RTCStatsReport

from ..calling.events import Emitter
from .metrics import Direction, Kind

if TYPE_CHECKING:
    import pandas

    from ..calling.call import Call
    from ..calling.remote_participant import RemoteParticipant
    from ..media.peer_link import PeerLink

logger = logging.getLogger(__name__)

CLOCK_RATES = {Kind.AUDIO: 48_000, Kind.VIDEO: 90_000}
CODECS = {Kind.AUDIO: "opus", Kind.VIDEO: "VP8"}
COLUMNS = ("time", "participant", "direction", "kind", "metric", "value")
Value = float | str | None


@dataclass(frozen=True, slots=True)
class MediaStatsSample:
    """One (participant, direction, kind) at one time: ``metrics`` by ACS name."""

    time: float
    """Seconds since the collector started."""
    participant: str
    participant_id: str
    direction: Direction
    kind: Kind
    metrics: dict[str, Value]

    def rows(self) -> Iterator[tuple[float, str, str, str, str, Value]]:
        for metric, value in self.metrics.items():
            if value is not None:
                yield (self.time, self.participant, self.direction.value, self.kind.value, metric, value)


@dataclass(frozen=True, slots=True)
class MediaStatsReport:
    """The ``sample_reported`` event: every sample of one interval."""

    time: float
    samples: tuple[MediaStatsSample, ...]

    def get(self, participant: str, direction: str, kind: str) -> MediaStatsSample | None:
        """The sample for a participant (display name or user id), a direction and a kind."""
        for sample in self.samples:
            if participant in (sample.participant, sample.participant_id) and (sample.direction, sample.kind) == (
                direction,
                kind,
            ):
                return sample
        return None


@dataclass(frozen=True, slots=True)
class MediaStatsSummary:
    """The ``summary_reported`` event: mean, minimum and maximum of each numeric metric over the window."""

    start: float
    end: float
    aggregates: dict[tuple[str, str, str, str], tuple[float, float, float]]
    """(participant, direction, kind, metric) -> (mean, minimum, maximum)."""


@dataclass
class _Previous:
    at: float
    values: dict[str, float] = field(default_factory=dict)


class MediaStatsCollector(Emitter):
    """Samples a call's media every ``sample_interval`` seconds until ``dispose()`` or the call ends."""

    EVENTS = ("sample_reported", "summary_reported")

    def __init__(self, call: Call, sample_interval: float = 1.0, summary_interval: float = 10.0) -> None:
        if sample_interval <= 0:
            raise ValueError("sample_interval must be positive, e.g. 1.0 (seconds)")
        super().__init__(call._dispatcher)
        self.call = call
        self.sample_interval = sample_interval
        self.summary_interval = summary_interval
        self.samples: list[MediaStatsSample] = []
        self.start = time.monotonic()
        self._previous: dict[tuple[str, Direction, Kind], _Previous] = {}
        self._summary_from = 0.0
        self._task: asyncio.Task[None] | None = None
        self.busy_seconds = 0.0
        """Wall time spent sampling so far: an upper bound on the collector's own CPU cost."""
        self.listeners: list[Callable[[MediaStatsReport], None]] = []
        """Called on the engine thread with each report, before the event (for diagnostics)."""
        call._engine.call_soon(self._begin)

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def events(self) -> list[tuple[float, str]]:
        """The call's media events since the collector started, as (seconds, label)."""
        return [(at - self.start, label) for at, label in list(self.call.media_events) if at >= self.start]

    def rows(self) -> list[tuple[float, str, str, str, str, Value]]:
        """Every sample so far in tidy long form: (time, participant, direction, kind, metric, value)."""
        return [row for sample in list(self.samples) for row in sample.rows()]

    def to_dataframe(self) -> pandas.DataFrame:
        """The samples as a pandas DataFrame with columns ``COLUMNS`` (needs ``pip install labkit[pandas]``)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "to_dataframe() needs pandas: pip install 'labkit[pandas]' (or use to_csv()/rows())"
            ) from None
        return pandas.DataFrame(self.rows(), columns=list(COLUMNS))

    def to_csv(self, path: str | Path) -> Path:
        """Write the samples (and the call's events, as metric ``event``) to a CSV file."""
        target = Path(path)
        with target.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            writer.writerows(self.rows())
            for at, label in self.events:
                writer.writerow((round(at, 3), "", "", "", "event", label))
        return target

    async def raw_reports(self) -> dict[str, RTCStatsReport]:
        """aiortc's W3C ``getStats()`` report per participant (user id); see ``metrics.RAW_TO_DERIVED``."""
        links = dict(self.call._links)

        async def get_all() -> dict[str, RTCStatsReport]:
            return {user_id: await link.pc.getStats() for user_id, link in links.items()}

        return await self.call._engine.run(get_all())

    async def dispose(self) -> None:
        """Stop sampling. ACS: ``collector.dispose()``."""
        task = self._task
        if task is not None:

            async def stop() -> None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            await self.call._engine.run(stop())

    # --- engine side ----------------------------------------------------------------------

    def _begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="labkit-stats-collector")

    def _on_call_ended(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.sample_interval)
            try:
                await self._sample()
            except Exception:
                logger.exception("media stats sampling failed")

    async def _sample(self) -> None:
        began = time.perf_counter()
        try:
            await self._take_sample()
        finally:
            self.busy_seconds += time.perf_counter() - began

    async def _take_sample(self) -> None:
        now = time.monotonic()
        at = round(now - self.start, 3)
        samples: list[MediaStatsSample] = []
        for user_id, link in list(self.call._links.items()):
            participant = self.call._participants.get(user_id)
            if participant is None:
                continue
            report = await link.pc.getStats()
            for direction in Direction:
                for kind in Kind:
                    metrics = self._metrics(link, participant, report, direction, kind, now)
                    samples.append(MediaStatsSample(at, participant.display_name, user_id, direction, kind, metrics))
        self.samples.extend(samples)
        reported = MediaStatsReport(at, tuple(samples))
        for listener in list(self.listeners):
            listener(reported)
        self._emit("sample_reported", reported)
        if at - self._summary_from >= self.summary_interval:
            self._emit("summary_reported", self._summary(self._summary_from, at))
            self._summary_from = at

    def _metrics(
        self,
        link: PeerLink,
        participant: RemoteParticipant,
        report: RTCStatsReport,
        direction: Direction,
        kind: Kind,
        now: float,
    ) -> dict[str, Value]:
        stats = {s.type: s for s in report.values() if getattr(s, "kind", None) == kind.value}
        counters: dict[str, float] = {}
        metrics: dict[str, Value] = {"codec_name": CODECS[kind]}
        clock = CLOCK_RATES[kind]
        if direction is Direction.SEND:
            outbound, remote = stats.get("outbound-rtp"), stats.get("remote-inbound-rtp")
            counters["bytes"] = float(getattr(outbound, "bytesSent", 0))
            counters["packets"] = float(getattr(outbound, "packetsSent", 0))
            counters["lost"] = float(getattr(remote, "packetsLost", 0))
            metrics["jitter_in_ms"] = getattr(remote, "jitter", 0) / clock * 1000 if remote else None
            rtt = getattr(remote, "roundTripTime", None)
            metrics["rtt_in_ms"] = rtt * 1000 if rtt is not None else None
            metrics["pair_rtt_in_ms"] = None
            if kind is Kind.AUDIO:
                feed = self.call._audio_feed
                metrics["audio_input_level"] = feed.input_meter.level() if feed is not None else None
            else:
                encoder_input: Any = link.inputs.get("video")
                feed_frames = float(self.call._video_feed.frames_sent if self.call._video_feed else 0)
                counters["input"] = feed_frames
                counters["encoded"] = float(encoder_input.frames)
                metrics["frame_width_sent"], metrics["frame_height_sent"] = encoder_input.frame_size
                metrics["frames_sent"] = float(encoder_input.frames)
                metrics["target_bitrate"] = _target_bitrate(link, kind)
        else:
            inbound = stats.get("inbound-rtp")
            counter = link.received.get(kind.value)
            counters["bytes"] = float(counter.bytes if counter else 0)
            counters["packets"] = float(counter.packets if counter else 0)
            counters["lost"] = float(max(0, getattr(inbound, "packetsLost", 0)))
            metrics["jitter_in_ms"] = getattr(inbound, "jitter", 0) / clock * 1000 if inbound else None
            if kind is Kind.AUDIO:
                metrics["audio_output_level"] = participant.audio_level_dbfs()
            else:
                stream = participant._video
                sink = stream._sink
                received = float(counter.frames if counter else 0)
                decoded = float(sink.frames if sink else 0)
                counters["received"], counters["decoded"] = received, decoded
                metrics["frame_width_received"], metrics["frame_height_received"] = stream.size
                metrics["frames_received"], metrics["frames_decoded"] = received, decoded
                # aiortc's jitter buffer holds one frame back until the next one starts
                metrics["frames_dropped"] = max(0.0, received - decoded - 1)
                metrics["longest_freeze_duration_in_ms"] = (sink.longest_freeze_duration * 1000) if sink else 0.0
                metrics["total_freeze_duration_in_ms"] = (sink.total_freeze_duration * 1000) if sink else 0.0
        rates = self._rates((participant.user_id, direction, kind), counters, now)
        metrics["bitrate"] = rates["bytes"] * 8
        metrics["packets_per_second"] = rates["packets"]
        metrics["packets_lost_per_second"] = rates["lost"]
        if kind is Kind.VIDEO and direction is Direction.SEND:
            metrics["frame_rate_input"] = rates["input"]
            metrics["frame_rate_encoded"] = rates["encoded"]
            metrics["frame_rate_sent"] = rates["encoded"]  # aiortc sends each encoded frame at once
        elif kind is Kind.VIDEO:
            metrics["frame_rate_received"] = rates["received"]
            metrics["frame_rate_decoded"] = rates["decoded"]
        return metrics

    def _rates(self, key: tuple[str, Direction, Kind], counters: dict[str, float], now: float) -> dict[str, float]:
        previous = self._previous.get(key)
        self._previous[key] = _Previous(now, dict(counters))
        if previous is None:
            return {name: 0.0 for name in counters}
        elapsed = max(now - previous.at, 1e-6)
        return {name: max(0.0, value - previous.values.get(name, value)) / elapsed for name, value in counters.items()}

    def _summary(self, start: float, end: float) -> MediaStatsSummary:
        grouped: dict[tuple[str, str, str, str], list[float]] = {}
        for sample in self.samples:
            if start < sample.time <= end:
                for metric, value in sample.metrics.items():
                    if isinstance(value, int | float):
                        key = (sample.participant, sample.direction.value, sample.kind.value, metric)
                        grouped.setdefault(key, []).append(float(value))
        aggregates = {k: (sum(v) / len(v), min(v), max(v)) for k, v in grouped.items()}
        return MediaStatsSummary(start, end, aggregates)


def _target_bitrate(link: PeerLink, kind: Kind) -> float | None:
    """The encoder's target (aiortc's REMB-driven estimate), or ``None`` before the first frame."""
    for transceiver in link.pc.getTransceivers():
        if transceiver.kind == kind.value:
            sender: RTCRtpSender = transceiver.sender
            encoder = getattr(sender, "_RTCRtpSender__encoder", None)  # aiortc keeps it private
            target = getattr(encoder, "target_bitrate", None)
            return float(target) if target is not None else None
    return None
