"""labkit: real voice and video calling in Jupyter notebooks, shaped like the ACS Calling SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .calling import (
    AudioDeviceInfo,
    AudioOptions,
    Call,
    CallAgent,
    CallClient,
    CallDirection,
    CallEndReason,
    CallerInfo,
    CallState,
    CollectionUpdated,
    ConnectionState,
    DeviceManager,
    IncomingCall,
    LocalVideoStream,
    MediaStreamType,
    RemoteParticipant,
    RemoteParticipantState,
    RemoteVideoStream,
    TokenCredential,
    ValueChanged,
    VideoDeviceInfo,
    VideoOptions,
    VideoStreamRenderer,
    VideoStreamRendererView,
)
from .errors import ErrorCode, LabkitError, TokenError
from .identity import (
    AccessToken,
    CommunicationUserIdentifier,
    LocalIdentityClient,
    TokenScope,
    create_identity_client,
)
from .media.ice import IceMode, set_ice_mode
from .service import EmbeddedService, RelayConfiguration, start_service
from .service.client import request_token

if TYPE_CHECKING:
    from .widgets import CallApp


async def app(display_name: str, endpoint: str | None = None, user_id: str | None = None) -> CallApp:
    """The whole call app for one person: ``app = await labkit.app("Alice")`` (see ``labkit.widgets``)."""
    from .widgets import app as make_app

    return await make_app(display_name, endpoint, user_id)


__all__ = [
    "AccessToken",
    "AudioDeviceInfo",
    "AudioOptions",
    "Call",
    "CallAgent",
    "CallClient",
    "CallDirection",
    "CallEndReason",
    "CallState",
    "CallerInfo",
    "CollectionUpdated",
    "CommunicationUserIdentifier",
    "ConnectionState",
    "DeviceManager",
    "EmbeddedService",
    "ErrorCode",
    "IceMode",
    "IncomingCall",
    "LabkitError",
    "LocalIdentityClient",
    "LocalVideoStream",
    "MediaStreamType",
    "RelayConfiguration",
    "RemoteParticipant",
    "RemoteParticipantState",
    "RemoteVideoStream",
    "TokenCredential",
    "TokenError",
    "TokenScope",
    "ValueChanged",
    "VideoDeviceInfo",
    "VideoOptions",
    "VideoStreamRenderer",
    "VideoStreamRendererView",
    "__version__",
    "app",
    "create_identity_client",
    "request_token",
    "set_ice_mode",
    "start_service",
]
