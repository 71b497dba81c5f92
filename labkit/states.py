"""Call and participant states, one definition for every layer. ACS: ``CallState`` and friends."""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    """Where a call is in its life. ACS: ``CallState``."""

    NONE = "None"
    CONNECTING = "Connecting"
    RINGING = "Ringing"
    EARLY_MEDIA = "EarlyMedia"
    CONNECTED = "Connected"
    LOCAL_HOLD = "LocalHold"
    REMOTE_HOLD = "RemoteHold"
    IN_LOBBY = "InLobby"
    DISCONNECTING = "Disconnecting"
    DISCONNECTED = "Disconnected"


class RemoteParticipantState(StrEnum):
    """A remote participant's place in the call. ACS: ``RemoteParticipantState``.

    The service sends ``Connecting``, ``Ringing`` and ``Connected``; the calling API adds
    ``Hold`` (the participant put the call on hold) and ``Disconnected`` (it left).
    """

    IDLE = "Idle"
    CONNECTING = "Connecting"
    RINGING = "Ringing"
    CONNECTED = "Connected"
    HOLD = "Hold"
    IN_LOBBY = "InLobby"
    EARLY_MEDIA = "EarlyMedia"
    DISCONNECTED = "Disconnected"


class CallDirection(StrEnum):
    """ACS: ``CallDirection``."""

    INCOMING = "Incoming"
    OUTGOING = "Outgoing"


class MediaStreamType(StrEnum):
    """ACS: ``MediaStreamType``."""

    VIDEO = "Video"
    SCREEN_SHARING = "ScreenSharing"


class ConnectionState(StrEnum):
    """The call agent's connection to the service. ACS: ``ConnectionState``."""

    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"
