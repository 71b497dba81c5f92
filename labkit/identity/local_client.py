"""The in-process identity backend: users in memory, tokens signed with a local secret."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta

from ..errors import ErrorCode, TokenError
from .access_token import AccessToken, TokenClaims
from .identifier import CommunicationUserIdentifier
from .identity_client import DEFAULT_TOKEN_LIFETIME
from .revocations import Revocations
from .scopes import TokenScope
from .token_signer import TokenSigner, generate_secret

SECRET_ENV = "LABKIT_SECRET"


class LocalIdentityClient:
    """``CommunicationIdentityClient`` without the cloud.

    The signing secret is ``secret``, else ``$LABKIT_SECRET``, else a random one kept only
    in memory (tokens then stop verifying when the process ends). Users, revocations and
    deletions live in memory. Thread-safe.
    """

    def __init__(self, secret: str | None = None, resource_id: str | None = None) -> None:
        self._signer = TokenSigner(secret or os.environ.get(SECRET_ENV) or generate_secret())
        self.resource_id = resource_id or str(uuid.uuid4())
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}
        self._deleted: set[str] = set()
        self.revocations = Revocations()
        """Listeners told of every ``revoke_tokens`` and ``delete_user`` (the service ends live sessions)."""

    def create_user(self) -> CommunicationUserIdentifier:
        user = CommunicationUserIdentifier.new(self.resource_id)
        with self._lock:
            self._epochs[user.id] = 0
        return user

    def create_user_and_token(
        self, scopes: Sequence[str | TokenScope], *, token_expires_in: timedelta | None = None
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        parsed = TokenScope.parse_many(scopes)
        user = self.create_user()
        return user, self._issue(user, parsed, token_expires_in)

    def get_token(
        self,
        user: CommunicationUserIdentifier,
        scopes: Sequence[str | TokenScope],
        *,
        token_expires_in: timedelta | None = None,
    ) -> AccessToken:
        parsed = TokenScope.parse_many(scopes)
        if not self.user_exists(user.id):
            raise ValueError(f"unknown or deleted user {user.id!r}; create it with create_user() first")
        return self._issue(user, parsed, token_expires_in)

    def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        with self._lock:
            self._epochs[user.id] = self._epochs.get(user.id, 0) + 1
        self.revocations.revoked(user.id)

    def delete_user(self, user: CommunicationUserIdentifier) -> None:
        with self._lock:
            self._deleted.add(user.id)
            self._epochs.pop(user.id, None)
        self.revocations.deleted(user.id)

    def user_exists(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._epochs and user_id not in self._deleted

    def verify_token(self, token: str) -> TokenClaims:
        claims, epoch = self._signer.verify(token)
        user_id = claims.user.id
        with self._lock:
            if user_id in self._deleted:
                raise TokenError(ErrorCode.USER_DELETED, "The token's user has been deleted.", "Create a new user.")
            current = self._epochs.setdefault(user_id, 0)  # a token signed with our key adopts its user
        if epoch < current:
            raise TokenError(
                ErrorCode.TOKEN_REVOKED,
                "The token has been revoked.",
                "Get a fresh one from POST /api/token.",
            )
        return claims

    def _issue(
        self, user: CommunicationUserIdentifier, scopes: Sequence[TokenScope], expires_in: timedelta | None
    ) -> AccessToken:
        lifetime = DEFAULT_TOKEN_LIFETIME if expires_in is None else expires_in
        if lifetime <= timedelta(0):
            raise ValueError("token_expires_in must be positive")
        with self._lock:
            epoch = self._epochs.get(user.id, 0)
        return self._signer.issue(user, scopes, self.resource_id, lifetime, epoch)
