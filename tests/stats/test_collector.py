"""The media stats collector on real calls: every metric family has plausible values."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from labkit import Call
from labkit.calling import Features
from labkit.stats import METRICS, MediaStatsCollector, MediaStatsReport, MediaStatsSummary

from ..helpers import Factory, eventually, samples_after, video_call


def latest(collector: MediaStatsCollector, direction: str, kind: str) -> dict[str, float | str | None]:
    sample = next(s for s in reversed(collector.samples) if (s.direction, s.kind) == (direction, kind))
    return sample.metrics


async def test_every_metric_family_is_plausible_in_a_640x480_call(people: Factory) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    assert call.feature(Features.MEDIA_STATS) is call.feature(Features.MEDIA_STATS)
    reports: list[MediaStatsReport] = []
    collector.on("sample_reported", reports.append)
    await asyncio.sleep(3.2)
    for sample in collector.samples:  # every sample carries exactly its metrics, by ACS name
        assert set(sample.metrics) == set(METRICS[(sample.direction, sample.kind)])
    receive_video = latest(collector, "receive", "video")
    assert 25 <= receive_video["frame_rate_received"] <= 35  # type: ignore[operator]
    assert 25 <= receive_video["frame_rate_decoded"] <= 35  # type: ignore[operator]
    assert (receive_video["frame_width_received"], receive_video["frame_height_received"]) == (640, 480)
    assert 100_000 < receive_video["bitrate"] < 3_000_000  # type: ignore[operator]
    assert receive_video["frames_decoded"] >= 60  # type: ignore[operator]
    assert receive_video["frames_dropped"] == 0
    assert receive_video["total_freeze_duration_in_ms"] == 0
    send_video = latest(collector, "send", "video")
    assert 25 <= send_video["frame_rate_input"] <= 35  # type: ignore[operator]
    assert 25 <= send_video["frame_rate_encoded"] <= 35  # type: ignore[operator]
    assert (send_video["frame_width_sent"], send_video["frame_height_sent"]) == (640, 480)
    assert 100_000 < send_video["bitrate"] < 3_000_000  # type: ignore[operator]
    assert send_video["target_bitrate"] is not None
    assert 0 < send_video["rtt_in_ms"] < 50  # type: ignore[operator]
    assert send_video["codec_name"] == "VP8"
    send_audio, receive_audio = latest(collector, "send", "audio"), latest(collector, "receive", "audio")
    assert send_audio["codec_name"] == "opus"
    assert 45 <= receive_audio["packets_per_second"] <= 55  # type: ignore[operator]  # 20 ms Opus packets
    assert 0 <= receive_audio["jitter_in_ms"] < 30  # type: ignore[operator]
    assert receive_audio["packets_lost_per_second"] == 0
    assert send_audio["audio_input_level"] > -20  # type: ignore[operator]
    assert receive_audio["audio_output_level"] > -25  # type: ignore[operator]
    assert len(reports) >= 5
    assert reports[-1].get("Bob", "receive", "video") is not None
    await collector.dispose()
    assert not collector.is_running


def both_sides(call: Call, bob_call: Call) -> tuple[MediaStatsCollector, MediaStatsCollector]:
    return tuple(c.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5) for c in (call, bob_call))


async def settle(collector: MediaStatsCollector) -> None:
    """Let what was just done reach the other side, then two full samples after it."""
    await asyncio.sleep(0.6)
    await samples_after(collector, 2)


async def test_stop_video_and_hold_bring_the_rates_to_zero(people: Factory) -> None:
    _, _, call, bob_call = await video_call(people, bob_camera=2)
    alice_stats, bob_stats = both_sides(call, bob_call)
    await samples_after(bob_stats, 3)
    await call.stop_video()
    await settle(bob_stats)
    assert latest(bob_stats, "receive", "video")["frame_rate_received"] == 0
    assert latest(bob_stats, "receive", "video")["bitrate"] == 0
    assert latest(alice_stats, "send", "video")["frame_rate_input"] == 0
    assert latest(bob_stats, "receive", "audio")["bitrate"] > 20_000  # type: ignore[operator]  # audio goes on
    await call.hold()
    await settle(bob_stats)
    for stats, direction in ((bob_stats, "receive"), (alice_stats, "send"), (alice_stats, "receive")):
        for kind in ("audio", "video"):
            assert latest(stats, direction, kind)["bitrate"] == 0, (direction, kind)
    events = [label for _, label in alice_stats.events]
    assert events == ["video off", "hold"]


async def test_mute_shows_in_the_bitrate_and_the_levels(people: Factory) -> None:
    _, _, call, bob_call = await video_call(people, bob_camera=2)
    alice_stats, bob_stats = both_sides(call, bob_call)
    await samples_after(bob_stats, 2)
    assert latest(bob_stats, "receive", "audio")["audio_output_level"] > -30  # type: ignore[operator]  # heard
    await call.mute()
    await settle(bob_stats)
    assert latest(bob_stats, "receive", "audio")["audio_output_level"] < -60  # type: ignore[operator]
    assert latest(alice_stats, "send", "audio")["bitrate"] < 20_000  # type: ignore[operator]  # Opus on silence
    assert latest(alice_stats, "send", "audio")["audio_input_level"] > -20  # type: ignore[operator]  # mic still on


async def test_tidy_table_csv_summary_and_raw_reports(people: Factory, tmp_path: Path) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5, summary_interval=1.0)
    summaries: list[MediaStatsSummary] = []
    collector.on("summary_reported", summaries.append)
    await asyncio.sleep(1.0)
    await call.mute()
    await samples_after(collector, 3)
    frame = collector.to_dataframe()
    assert list(frame.columns) == ["time", "participant", "direction", "kind", "metric", "value"]
    assert set(frame["direction"]) == {"send", "receive"}
    assert set(frame["kind"]) == {"audio", "video"}
    assert (frame["participant"] == "Bob").all()
    rates = frame[(frame.metric == "frame_rate_received")]["value"].astype(float)
    assert rates.max() >= 25
    path = collector.to_csv(tmp_path / "stats.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["time", "participant", "direction", "kind", "metric", "value"]
    assert rows[-1][4:] == ["event", "muted"]
    assert len(rows) == len(frame) + 2  # header and one event
    await eventually(lambda: bool(summaries), what="a summary")
    mean, low, high = summaries[0].aggregates[("Bob", "receive", "video", "frame_rate_received")]
    assert low <= mean <= high
    raw = await collector.raw_reports()
    (report,) = raw.values()
    assert {"outbound-rtp", "inbound-rtp", "remote-inbound-rtp"} <= {stat.type for stat in report.values()}


async def test_the_collector_stops_when_the_call_ends(people: Factory) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.2)
    await samples_after(collector, 1)
    await call.hang_up()
    await eventually(lambda: not collector.is_running, what="the collector stopping")
