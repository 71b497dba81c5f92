"""labkit: real voice and video calling in Jupyter notebooks, shaped like the ACS Calling SDK."""

from __future__ import annotations

from ._version import __version__
from .errors import ErrorCode, LabkitError, TokenError
from .identity import (
    AccessToken,
    CommunicationUserIdentifier,
    LocalIdentityClient,
    TokenScope,
    create_identity_client,
)
from .service import CallEndReason, EmbeddedService, start_service

__all__ = [
    "AccessToken",
    "CallEndReason",
    "CommunicationUserIdentifier",
    "EmbeddedService",
    "ErrorCode",
    "LabkitError",
    "LocalIdentityClient",
    "TokenError",
    "TokenScope",
    "__version__",
    "create_identity_client",
    "start_service",
]
