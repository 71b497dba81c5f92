"""labkit: real voice and video calling in Jupyter notebooks, shaped like the ACS Calling SDK."""

from __future__ import annotations

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
from .service import EmbeddedService, start_service
from .service.client import request_token

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
    "create_identity_client",
    "request_token",
    "set_ice_mode",
    "start_service",
]
