"""Extended call features. ACS: ``Features`` and ``call.feature(...)``.

A feature is any object with the ``CallFeature`` hooks. The modules that provide features
register a factory for each (``register_feature``) when they are imported, so the calling
layer never imports the layers above it: ``labkit.stats`` registers ``MEDIA_STATS`` and
``USER_FACING_DIAGNOSTICS``, ``labkit.calling.recording`` registers ``RECORDING``, and
``import labkit`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ErrorCode, LabkitError

if TYPE_CHECKING:
    from .call import Call


class Features(StrEnum):
    """ACS: ``Features.MediaStats``, ``Features.UserFacingDiagnostics``, ``Features.Recording``; and labkit's."""

    MEDIA_STATS = "MediaStats"
    USER_FACING_DIAGNOSTICS = "UserFacingDiagnostics"
    RECORDING = "Recording"
    INSPECTOR = "Inspector"
    NETWORK_LAB = "NetworkLab"
    """labkit's network lab: loss, delay, jitter and a bandwidth cap on a call's links (``labkit.network_lab``)."""
    """labkit's glass box: signaling, SDP, ICE, DTLS and every RTP and RTCP packet (``labkit.inspector``)."""


class CallFeature(Protocol):
    """What the call tells each of its features, on the engine thread (labkit).

    These hooks are for the call to call, not for users.
    """

    def on_participants_changed(self) -> None:
        """Someone joined, left or changed (mute, hold, recording), or a media link to someone was made."""

    def on_call_ended(self) -> None:
        """The call is over: stop, and let go of what the feature holds."""


FeatureFactory = Callable[["Call"], CallFeature]
_factories: dict[Features, FeatureFactory] = {}


def register_feature(feature: Features, factory: FeatureFactory) -> None:
    """Make ``call.feature(feature)`` build its object with ``factory(call)``."""
    _factories[feature] = factory


def create_feature(feature: Features, call: Call) -> Any:
    """The feature object for ``call``, from the factory its module registered."""
    factory = _factories.get(Features(feature))
    if factory is None:
        raise LabkitError(
            ErrorCode.INVALID_ARGUMENT,
            f"No module has registered the feature {feature}.",
            "Import labkit (which registers every feature) rather than labkit.calling alone.",
        )
    return factory(call)
