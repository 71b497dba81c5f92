"""Options for starting, joining and accepting calls. ACS: ``AudioOptions``, ``VideoOptions``, and who to call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ArgumentError
from ..identity import CommunicationUserIdentifier
from ..protocol.messages import checked_user_id
from .local_video_stream import LocalVideoStream

Participant = CommunicationUserIdentifier | str | dict[str, str]
"""Who to call: an identifier, a user id, or ACS's ``{"communicationUserId": ...}``."""


@dataclass(frozen=True, slots=True)
class AudioOptions:
    """ACS: ``AudioOptions`` (``muted``)."""

    muted: bool = False


@dataclass(frozen=True, slots=True)
class VideoOptions:
    """ACS: ``VideoOptions`` (``localVideoStreams``). At most one stream is sent."""

    local_video_streams: Sequence[LocalVideoStream] = field(default_factory=tuple)


def audio_options(value: AudioOptions | dict[str, Any] | None) -> AudioOptions:
    if value is None:
        return AudioOptions()
    if isinstance(value, AudioOptions):
        return value
    return AudioOptions(muted=bool(value.get("muted", False)))


def video_options(value: VideoOptions | LocalVideoStream | dict[str, Any] | None) -> VideoOptions:
    """Accepts ``VideoOptions``, a bare ``LocalVideoStream``, or ``{"local_video_streams": [...]}``."""
    if value is None:
        return VideoOptions()
    if isinstance(value, VideoOptions):
        return value
    if isinstance(value, LocalVideoStream):
        return VideoOptions((value,))
    streams = value.get("local_video_streams", value.get("localVideoStreams", ()))
    return VideoOptions(tuple(streams))


def user_id_of(participant: Participant) -> str:
    """A user id from an identifier, a string or ACS's ``{"communicationUserId": ...}``; ``ArgumentError`` if none."""
    if isinstance(participant, CommunicationUserIdentifier):
        return checked_user_id(participant.id)
    if isinstance(participant, dict):
        value = next(
            (participant[k] for k in ("communicationUserId", "communication_user_id", "id") if k in participant), None
        )
        if value is None:
            raise ArgumentError(
                f"Cannot tell the user id of {str(participant)[:80]}.", "Use {'communicationUserId': '8:acs:...'}."
            )
        return checked_user_id(value)
    return checked_user_id(participant)
