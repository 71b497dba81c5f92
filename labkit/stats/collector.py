"""The media stats collector. ACS: ``MediaStatsCollector`` from ``createCollector``.

Every ``sample_interval`` it samples each peer connection of the call on the engine
thread, from four sources:
- **aiortc's ``getStats()``:** bytes and packets sent; loss, jitter and RTT from RTCP;
- **labkit's own counters:** received bytes, packets and frames at each receiver; frames
  and sizes at each encoder input; decoded frames and freezes at each video sink; audio
  levels at the microphone feed and at each remote audio sink;
- **the encoder's target bitrate:** aiortc's congestion-control (REMB) estimate;
- **the ICE checks labkit times:** the candidate pair's round trip.

Events: ``sample_reported`` (``MediaStatsReport``) each interval, and
``summary_reported`` (``MediaStatsSummary``) every ``summary_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aiortc import RTCStatsReport

from ..calling.event_emitter import Emitter
from ..protocol.messages import SFU_ID
from .metrics import Direction, Kind
from .rates import CounterRates, summarize

if TYPE_CHECKING:
    import pandas

    from ..calling.call import Call
    from ..calling.call_media import CallMedia
    from ..calling.remote_participant import RemoteParticipant
    from ..media.media_link import MediaLink

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


CollectorEventName = Literal["sample_reported", "summary_reported"]
"""The events of ``MediaStatsCollector``."""


class MediaStatsCollector(Emitter[CollectorEventName]):
    """Samples a call's media every ``sample_interval`` seconds until ``dispose()`` or the call ends."""

    def __init__(self, call: Call, sample_interval: float = 1.0, summary_interval: float = 10.0) -> None:
        if sample_interval <= 0:
            raise ValueError("sample_interval must be positive, e.g. 1.0 (seconds)")
        super().__init__(call.media.dispatcher)
        self.call = call
        self._media: CallMedia = call.media
        self.sample_interval = sample_interval
        self.summary_interval = summary_interval
        self.samples: list[MediaStatsSample] = []
        self.start = time.monotonic()
        self._rates = CounterRates()
        self._summary_from = 0.0
        self._task: asyncio.Task[None] | None = None
        self.busy_seconds = 0.0
        """Wall time spent sampling so far: an upper bound on the collector's own CPU cost."""
        self.listeners: list[Callable[[MediaStatsReport], None]] = []
        """Called on the engine thread with each report, before the event (for diagnostics)."""
        self._media.engine.call_soon(self._begin)

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def events(self) -> list[tuple[float, str]]:
        """The call's media events since the collector started, as (seconds, label)."""
        return [(at - self.start, label) for at, label in self._media.events if at >= self.start]

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
        links = self._media.links

        async def get_all() -> dict[str, RTCStatsReport]:
            return {user_id: await link.get_stats() for user_id, link in links.items()}

        return await self._media.engine.run(get_all())

    async def dispose(self) -> None:
        """Stop sampling. ACS: ``collector.dispose()``."""
        await self._media.engine.cancel(self._task)

    # --- engine side ----------------------------------------------------------------------

    def _begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="labkit-stats-collector")

    def stop_sampling(self) -> None:
        """Stop at once, on the engine thread (the call ended)."""
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
        participants = self._media.participants
        for user_id, link in self._media.links.items():
            participant = participants.get(user_id)
            if participant is None and user_id != SFU_ID:
                continue
            name = participant.display_name if participant is not None else "SFU"
            report = await link.get_stats()
            for direction in _directions(link):
                for kind in Kind:
                    metrics = self._metrics(link, participant, report, direction, kind, now)
                    samples.append(MediaStatsSample(at, name, user_id, direction, kind, metrics))
        self.samples.extend(samples)
        reported = MediaStatsReport(at, tuple(samples))
        for listener in list(self.listeners):
            listener(reported)
        self.emit("sample_reported", reported)
        if at - self._summary_from >= self.summary_interval:
            self.emit("summary_reported", self._summary(self._summary_from, at))
            self._summary_from = at

    def _metrics(
        self,
        link: MediaLink,
        participant: RemoteParticipant | None,
        report: RTCStatsReport,
        direction: Direction,
        kind: Kind,
        now: float,
    ) -> dict[str, Value]:
        stats = {s.type: s for s in report.values() if getattr(s, "kind", None) == kind.value}
        counters: dict[str, float] = {}
        negotiated = link.negotiated_codecs().get(kind.value)
        metrics: dict[str, Value] = {
            "codec_name": negotiated[0].mimeType.split("/")[-1] if negotiated else CODECS[kind],
        }
        clock = CLOCK_RATES[kind]
        if direction is Direction.SEND:
            outbound, remote = stats.get("outbound-rtp"), stats.get("remote-inbound-rtp")
            counters["bytes"] = float(getattr(outbound, "bytesSent", 0))
            counters["packets"] = float(getattr(outbound, "packetsSent", 0))
            counters["lost"] = float(getattr(remote, "packetsLost", 0))
            metrics["jitter_in_ms"] = getattr(remote, "jitter", 0) / clock * 1000 if remote else None
            rtt = getattr(remote, "roundTripTime", None)
            metrics["rtt_in_ms"] = rtt * 1000 if rtt is not None else None
            metrics["pair_rtt_in_ms"] = link.ice_checks.latest_rtt_ms()  # the latest check or consent refresh
            if kind is Kind.AUDIO:
                feed = self._media.audio_feed
                metrics["audio_input_level"] = feed.input_meter.level() if feed is not None else None
            else:
                encoder_input = link.encoder_inputs["video"]
                video_feed = self._media.video_feed
                counters["input"] = float(video_feed.frames_sent if video_feed else 0)
                counters["encoded"] = float(encoder_input.frames)
                metrics["frame_width_sent"], metrics["frame_height_sent"] = encoder_input.frame_size
                metrics["frames_sent"] = float(encoder_input.frames)
                metrics["target_bitrate"] = link.target_bitrate(kind.value)
        else:
            assert participant is not None  # only a participant's link receives
            inbound = stats.get("inbound-rtp")
            counter = link.received.get(kind.value)
            counters["bytes"] = float(counter.bytes if counter else 0)
            counters["packets"] = float(counter.packets if counter else 0)
            counters["lost"] = float(max(0, getattr(inbound, "packetsLost", 0)))
            metrics["jitter_in_ms"] = getattr(inbound, "jitter", 0) / clock * 1000 if inbound else None
            received_path = link.receive_stats().get(kind.value)
            buffer = received_path.jitter_buffer if received_path is not None else None
            counters["buffer_delay"] = buffer.jitter_buffer_delay if buffer else 0.0
            counters["buffer_target"] = buffer.jitter_buffer_target_delay if buffer else 0.0
            counters["buffer_emitted"] = float(buffer.jitter_buffer_emitted_count) if buffer else 0.0
            if kind is Kind.AUDIO:
                metrics["audio_output_level"] = participant.audio_level_dbfs()
                counters["concealed"] = float(buffer.concealed_samples) if buffer else 0.0
                counters["samples"] = float(buffer.total_samples_received) if buffer else 0.0
                metrics["concealed_samples"] = counters["concealed"]
                metrics["concealment_events"] = float(buffer.concealment_events) if buffer else 0.0
            else:
                streams = participant.video_streams
                stream = streams[0] if streams else None
                received = float(counter.frames if counter else 0)
                decoded = float(stream.frames_received if stream else 0)
                counters["received"], counters["decoded"] = received, decoded
                metrics["frame_width_received"], metrics["frame_height_received"] = stream.size if stream else (0, 0)
                metrics["frames_received"], metrics["frames_decoded"] = received, decoded
                if received_path is not None and received_path.path == "labkit":
                    metrics["frames_dropped"] = float(received_path.jitter_buffer.frames_dropped)  # given up
                else:  # aiortc's jitter buffer holds one frame back until the next one starts
                    metrics["frames_dropped"] = max(0.0, received - decoded - 1)
                metrics["nack_count"] = float(received_path.nack_count) if received_path else 0.0
                metrics["pli_count"] = float(received_path.pli_count) if received_path else 0.0
                metrics["longest_freeze_duration_in_ms"] = (stream.longest_freeze_duration * 1000) if stream else 0.0
                metrics["total_freeze_duration_in_ms"] = (stream.total_freeze_duration * 1000) if stream else 0.0
        rates = self._rates.update((link.remote_id, direction, kind), counters, now)
        metrics["bitrate"] = rates["bytes"] * 8
        metrics["packets_per_second"] = rates["packets"]
        metrics["packets_lost_per_second"] = rates["lost"]
        if direction is Direction.RECEIVE:
            emitted = rates["buffer_emitted"]
            metrics["jitter_buffer_in_ms"] = rates["buffer_delay"] / emitted * 1000 if emitted > 0 else None
            if kind is Kind.AUDIO:
                metrics["jitter_buffer_target_in_ms"] = rates["buffer_target"] / emitted * 1000 if emitted > 0 else None
                samples = rates["samples"]
                metrics["healed_ratio"] = rates["concealed"] / samples if samples > 0 else None
        if kind is Kind.VIDEO and direction is Direction.SEND:
            metrics["frame_rate_input"] = rates["input"]
            metrics["frame_rate_encoded"] = rates["encoded"]
            metrics["frame_rate_sent"] = rates["encoded"]  # aiortc sends each encoded frame at once
        elif kind is Kind.VIDEO:
            metrics["frame_rate_received"] = rates["received"]
            metrics["frame_rate_decoded"] = rates["decoded"]
        return metrics

    def _summary(self, start: float, end: float) -> MediaStatsSummary:
        points = (
            (sample.time, (sample.participant, sample.direction.value, sample.kind.value), sample.metrics)
            for sample in self.samples
        )
        return MediaStatsSummary(start, end, summarize(points, start, end))


def _directions(link: MediaLink) -> tuple[Direction, ...]:
    """What ``link`` carries: both ways in a mesh; to an SFU, send only; from it, receive only."""
    if link.direction == "sendonly":
        return (Direction.SEND,)
    if link.direction == "recvonly":
        return (Direction.RECEIVE,)
    return tuple(Direction)
