"""Identities and tokens. ACS: ``@azure/communication-identity``."""

from __future__ import annotations

import os

from .access_token import AccessToken, TokenClaims
from .identifier import CommunicationUserIdentifier, is_acs_user_id
from .identity_client import DEFAULT_TOKEN_LIFETIME, IdentityClient
from .local_client import SECRET_ENV, LocalIdentityClient
from .scopes import CALLING_SCOPES, TokenScope

CONNECTION_STRING_ENV = "LABKIT_ACS_CONNECTION_STRING"


def create_identity_client(connection_string: str | None = None, *, secret: str | None = None) -> IdentityClient:
    """The Azure backend for a connection string (or ``$LABKIT_ACS_CONNECTION_STRING``), else the local one."""
    connection_string = connection_string or os.environ.get(CONNECTION_STRING_ENV)
    if connection_string:
        from .azure_client import AzureIdentityClient

        return AzureIdentityClient(connection_string)
    return LocalIdentityClient(secret=secret)


__all__ = [
    "CALLING_SCOPES",
    "CONNECTION_STRING_ENV",
    "DEFAULT_TOKEN_LIFETIME",
    "SECRET_ENV",
    "AccessToken",
    "CommunicationUserIdentifier",
    "IdentityClient",
    "LocalIdentityClient",
    "TokenClaims",
    "TokenScope",
    "create_identity_client",
    "is_acs_user_id",
]
