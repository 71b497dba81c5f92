"""The network lab: loss, delay, jitter and a bandwidth cap on a call's links (labkit).

``call.feature(Features.NETWORK_LAB)`` sets them per remote participant and direction;
``labkit.media.network_conditions`` says what each knob does.
"""

from __future__ import annotations

from ..media.network_conditions import GilbertElliott, ImpairmentCounts, NetworkConditions
from .network_lab_feature import NetworkLabFeature

__all__ = ["GilbertElliott", "ImpairmentCounts", "NetworkConditions", "NetworkLabFeature"]
