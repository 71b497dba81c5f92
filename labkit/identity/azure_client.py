"""The Azure backend: the real ``azure.communication.identity`` client behind labkit's interface."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.communication.identity import CommunicationIdentityClient
from azure.communication.identity import CommunicationUserIdentifier as AzureUserIdentifier

from ..errors import ErrorCode, TokenError
from .access_token import AccessToken, TokenClaims
from .identifier import CommunicationUserIdentifier
from .revocations import Revocations
from .scopes import TokenScope


def _endpoint_of(connection_string: str) -> str:
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "endpoint":
            return value.strip()
    raise ValueError("the connection string has no endpoint; expected 'endpoint=https://...;accesskey=...'")


class AzureIdentityClient:
    """Identity from an ACS resource, given its connection string.

    Tokens come from Azure and are signed with Azure's keys, so the labkit service
    accepts the tokens that it obtained through this client (``verify_token``) until they
    expire, are revoked or their user is deleted. ``client_kwargs`` go to the Azure
    client (for example ``connection_verify`` with a CA bundle path).
    """

    def __init__(self, connection_string: str, **client_kwargs: Any) -> None:
        endpoint = _endpoint_of(connection_string)
        if "accesskey=" not in connection_string.lower():
            raise ValueError("the connection string has no accesskey; expected 'endpoint=https://...;accesskey=...'")
        self.resource_id = endpoint.split("//", 1)[-1].split(".", 1)[0].rstrip("/")
        self._client = CommunicationIdentityClient.from_connection_string(connection_string, **client_kwargs)
        self._lock = threading.Lock()
        self._issued: dict[str, TokenClaims] = {}
        self._users: set[str] = set()
        self.revocations = Revocations()
        """Told of revocations made through this client (not of those made elsewhere in Azure)."""

    def create_user(self) -> CommunicationUserIdentifier:
        azure_user = self._client.create_user()
        user = CommunicationUserIdentifier(azure_user.properties["id"])
        with self._lock:
            self._users.add(user.id)
        return user

    def create_user_and_token(
        self, scopes: Sequence[str | TokenScope], *, token_expires_in: timedelta | None = None
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        parsed = TokenScope.parse_many(scopes)
        kwargs = {} if token_expires_in is None else {"token_expires_in": token_expires_in}
        azure_user, azure_token = self._client.create_user_and_token([s.value for s in parsed], **kwargs)
        user = CommunicationUserIdentifier(azure_user.properties["id"])
        with self._lock:
            self._users.add(user.id)
        return user, self._remember(user, parsed, azure_token.token, azure_token.expires_on)

    def get_token(
        self,
        user: CommunicationUserIdentifier,
        scopes: Sequence[str | TokenScope],
        *,
        token_expires_in: timedelta | None = None,
    ) -> AccessToken:
        parsed = TokenScope.parse_many(scopes)
        kwargs = {} if token_expires_in is None else {"token_expires_in": token_expires_in}
        azure_token = self._client.get_token(AzureUserIdentifier(user.id), [s.value for s in parsed], **kwargs)
        with self._lock:
            self._users.add(user.id)
        return self._remember(user, parsed, azure_token.token, azure_token.expires_on)

    def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        self._client.revoke_tokens(AzureUserIdentifier(user.id))
        self._forget_tokens_of(user.id)
        self.revocations.revoked(user.id)

    def delete_user(self, user: CommunicationUserIdentifier) -> None:
        self._client.delete_user(AzureUserIdentifier(user.id))
        self._forget_tokens_of(user.id)
        with self._lock:
            self._users.discard(user.id)
        self.revocations.deleted(user.id)

    def user_exists(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._users

    def verify_token(self, token: str) -> TokenClaims:
        if not token:
            raise TokenError(ErrorCode.TOKEN_MISSING, "No token was given.", "Get one from POST /api/token.")
        with self._lock:
            issued = self._issued.get(_digest(token))
        if issued is None:
            raise TokenError(
                ErrorCode.TOKEN_INVALID_SIGNATURE,
                "This service did not issue that token, or it was revoked.",
                "Get a fresh one from POST /api/token.",
            )
        if issued.expires_on <= datetime.now(UTC):
            raise TokenError(ErrorCode.TOKEN_EXPIRED, "The token has expired.", "Get a fresh one from POST /api/token.")
        return issued

    def _remember(
        self, user: CommunicationUserIdentifier, scopes: Sequence[TokenScope], token: str, expires_on: Any
    ) -> AccessToken:
        expires = _as_datetime(expires_on)
        claims = TokenClaims(user, tuple(scopes), self.resource_id, datetime.now(UTC), expires)
        with self._lock:
            self._issued[_digest(token)] = claims
        return AccessToken(token, expires)

    def _forget_tokens_of(self, user_id: str) -> None:
        with self._lock:
            for key in [k for k, v in self._issued.items() if v.user.id == user_id]:
                del self._issued[key]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
