"""The media statistics call feature. ACS: ``Features.MediaStats``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..calling.features import Features, register_feature
from .collector import MediaStatsCollector

if TYPE_CHECKING:
    from ..calling.call import Call


class MediaStatsFeature:
    """``call.feature(Features.MEDIA_STATS)``: creates collectors for the call."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.collectors: list[MediaStatsCollector] = []

    def create_collector(self, sample_interval: float = 1.0, summary_interval: float = 10.0) -> MediaStatsCollector:
        """Start sampling the call. ACS: ``createCollector({aggregationInterval, dataPointsPerAggregation})``."""
        collector = MediaStatsCollector(self.call, sample_interval, summary_interval)
        self.collectors.append(collector)
        return collector

    def on_participants_changed(self) -> None:
        """Nothing to do: the collectors find the participants at each sample (CallFeature hook)."""

    def on_call_ended(self) -> None:
        """Take a last sample and stop every collector (CallFeature hook)."""
        for collector in self.collectors:
            collector.stop_sampling()


register_feature(Features.MEDIA_STATS, MediaStatsFeature)
