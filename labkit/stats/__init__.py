"""Call statistics: the media stats collector and, in ``labkit.stats.plots``, matplotlib figures."""

from __future__ import annotations

from .collector import COLUMNS, MediaStatsCollector, MediaStatsReport, MediaStatsSample, MediaStatsSummary
from .diagnostics import (
    DiagnosticChanged,
    DiagnosticQuality,
    DiagnosticsGroup,
    UserFacingDiagnosticsFeature,
    quality,
)
from .media_stats_feature import MediaStatsFeature
from .metrics import METRICS, RAW_TO_DERIVED, Direction, Kind

__all__ = [
    "COLUMNS",
    "METRICS",
    "RAW_TO_DERIVED",
    "DiagnosticChanged",
    "DiagnosticQuality",
    "DiagnosticsGroup",
    "Direction",
    "Kind",
    "MediaStatsCollector",
    "MediaStatsFeature",
    "MediaStatsReport",
    "MediaStatsSample",
    "MediaStatsSummary",
    "UserFacingDiagnosticsFeature",
    "quality",
]
