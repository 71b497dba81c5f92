"""Extended call features. ACS: ``Features`` and ``call.feature(...)``."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .call import Call


class Features(StrEnum):
    """ACS: ``Features.MediaStats``, ``Features.UserFacingDiagnostics``, ``Features.Recording``."""

    MEDIA_STATS = "MediaStats"
    USER_FACING_DIAGNOSTICS = "UserFacingDiagnostics"
    RECORDING = "Recording"


def create_feature(feature: Features, call: Call) -> Any:
    """The feature object for ``call`` (the stats layer provides the stats ones)."""
    if feature is Features.MEDIA_STATS:
        from ..stats.media_stats_feature import MediaStatsFeature

        return MediaStatsFeature(call)
    if feature is Features.USER_FACING_DIAGNOSTICS:
        from ..stats.diagnostics import UserFacingDiagnosticsFeature

        return UserFacingDiagnosticsFeature(call)
    if feature is Features.RECORDING:
        from .recording import RecordingCallFeature

        return RecordingCallFeature(call)
    raise ValueError(f"unknown feature {feature!r}; the features are: {', '.join(f.value for f in Features)}")
