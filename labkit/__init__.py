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
    Features,
    IncomingCall,
    LocalVideoStream,
    MediaStreamType,
    OutgoingVideoConstraints,
    RemoteParticipant,
    RemoteParticipantState,
    RemoteVideoStream,
    TokenCredential,
    ValueChanged,
    VideoConstraints,
    VideoDeviceInfo,
    VideoOptions,
    VideoStreamRenderer,
    VideoStreamRendererView,
)
from .calling.call_client import use_default_endpoint as _use_default_endpoint
from .errors import ErrorCode, LabkitError, TokenError
from .identity import (
    AccessToken,
    CommunicationUserIdentifier,
    LocalIdentityClient,
    TokenScope,
    create_identity_client,
)
from .inspector import inspector_feature as _inspector  # noqa: F401  (registers Features.INSPECTOR)
from .media.ice import IceMode, set_ice_mode
from .network_lab import network_lab_feature as _network_lab  # noqa: F401  (registers Features.NETWORK_LAB)
from .protocol.signaling_client import list_users, request_token
from .stats import diagnostics as _diagnostics  # noqa: F401  (registers Features.USER_FACING_DIAGNOSTICS)
from .stats import media_stats_feature as _media_stats  # noqa: F401  (registers Features.MEDIA_STATS)

if TYPE_CHECKING:
    from .service import EmbeddedService, RelayConfiguration, SfuConfiguration, start_service
    from .widgets import CallApp

_FROM_SERVICE = ("EmbeddedService", "RelayConfiguration", "SfuConfiguration", "start_service")


def _embedded_service_url() -> str:
    """A ``CallClient`` given no endpoint uses the process-wide embedded service (started on first use)."""
    from .service import default_service  # the server loads only when a call client needs it

    return default_service().url


_use_default_endpoint(_embedded_service_url)


def __getattr__(name: str) -> object:
    """The service's names load the aiohttp server on first use, not with ``import labkit``."""
    if name in _FROM_SERVICE:
        from . import service

        return getattr(service, name)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


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
    "Features",
    "IceMode",
    "IncomingCall",
    "LabkitError",
    "LocalIdentityClient",
    "LocalVideoStream",
    "MediaStreamType",
    "OutgoingVideoConstraints",
    "RelayConfiguration",
    "RemoteParticipant",
    "RemoteParticipantState",
    "RemoteVideoStream",
    "SfuConfiguration",
    "TokenCredential",
    "TokenError",
    "TokenScope",
    "ValueChanged",
    "VideoConstraints",
    "VideoDeviceInfo",
    "VideoOptions",
    "VideoStreamRenderer",
    "VideoStreamRendererView",
    "__version__",
    "app",
    "create_identity_client",
    "list_users",
    "request_token",
    "set_ice_mode",
    "start_service",
]
