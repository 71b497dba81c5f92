"""The interface every identity backend implements. ACS: ``CommunicationIdentityClient``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

from .access_token import AccessToken, TokenClaims
from .identifier import CommunicationUserIdentifier
from .revocations import Revocations
from .scopes import TokenScope

DEFAULT_TOKEN_LIFETIME = timedelta(hours=24)


@runtime_checkable
class IdentityClient(Protocol):
    """Creates users, issues and revokes their tokens, and verifies tokens for the service."""

    revocations: Revocations
    """Told of every ``revoke_tokens`` and ``delete_user``, so the service ends live sessions at once."""

    def create_user(self) -> CommunicationUserIdentifier:
        """A new identity. ACS: ``createUser``."""
        ...

    def create_user_and_token(
        self, scopes: Sequence[str | TokenScope], *, token_expires_in: timedelta | None = None
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        """A new identity and a token for it. ACS: ``createUserAndToken``."""
        ...

    def get_token(
        self,
        user: CommunicationUserIdentifier,
        scopes: Sequence[str | TokenScope],
        *,
        token_expires_in: timedelta | None = None,
    ) -> AccessToken:
        """A fresh token for an existing identity. ACS: ``getToken``."""
        ...

    def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        """Invalidate every token issued to ``user`` so far. ACS: ``revokeTokens``."""
        ...

    def delete_user(self, user: CommunicationUserIdentifier) -> None:
        """Delete ``user`` and invalidate its tokens. ACS: ``deleteUser``."""
        ...

    def verify_token(self, token: str) -> TokenClaims:
        """The claims of a token this backend accepts; raises ``TokenError`` otherwise."""
        ...

    def user_exists(self, user_id: str) -> bool:
        """True if ``user_id`` is a live identity of this backend."""
        ...
