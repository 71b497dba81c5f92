"""Signing and verifying labkit tokens: HS256 JWTs whose claims mirror ACS tokens.

An ACS token carries ``skypeid`` (the user id without its ``8:`` prefix), ``scp`` (1792
for communication tokens), ``acsScope`` (comma-separated scopes), ``resourceId``,
``iat`` and ``exp``. labkit adds ``epoch``: revoking a user's tokens raises the user's
epoch, so every token issued before the revocation is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ..errors import ErrorCode, TokenError
from .access_token import AccessToken, TokenClaims
from .identifier import CommunicationUserIdentifier
from .scopes import TokenScope

ALGORITHM = "HS256"
ACS_SCP = 1792
_REQUIRED = ("skypeid", "acsScope", "resourceId", "iat", "exp", "epoch")


def generate_secret() -> str:
    """A fresh 256-bit signing secret."""
    return secrets.token_urlsafe(32)


class TokenSigner:
    """Issues and verifies tokens with one shared secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError(
                "the signing secret must be at least 32 characters long; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        self._secret = secret

    def issue(
        self,
        user: CommunicationUserIdentifier,
        scopes: Sequence[TokenScope],
        resource_id: str,
        expires_in: timedelta,
        epoch: int,
    ) -> AccessToken:
        """Sign a token for ``user`` valid for ``expires_in`` from now."""
        now = datetime.now(UTC).replace(microsecond=0)
        expires_on = now + expires_in
        claims: dict[str, Any] = {
            "skypeid": user.id.removeprefix("8:"),
            "scp": ACS_SCP,
            "acsScope": ",".join(scope.value for scope in scopes),
            "resourceId": resource_id,
            "iat": int(now.timestamp()),
            "exp": int(expires_on.timestamp()),
            "epoch": epoch,
        }
        return AccessToken(jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires_on)

    def verify(self, token: str) -> tuple[TokenClaims, int]:
        """Check signature and expiry; return the claims and the token's epoch."""
        if not token:
            raise TokenError(ErrorCode.TOKEN_MISSING, "No token was given.", "Get one from POST /api/token.")
        try:
            raw = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": list(_REQUIRED)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError(
                ErrorCode.TOKEN_EXPIRED, "The token has expired.", "Get a fresh one from POST /api/token."
            ) from None
        except jwt.InvalidSignatureError:
            raise TokenError(
                ErrorCode.TOKEN_INVALID_SIGNATURE,
                "The token's signature does not match this service's key.",
                "Use a token issued by this service (LABKIT_SECRET must match).",
            ) from None
        except jwt.PyJWTError as exc:
            raise TokenError(ErrorCode.TOKEN_MALFORMED, f"The token is not a valid labkit token: {exc}.") from None
        try:
            scopes = TokenScope.parse_many(s for s in str(raw["acsScope"]).split(",") if s)
            user = CommunicationUserIdentifier(f"8:{raw['skypeid']}")
            claims = TokenClaims(
                user=user,
                scopes=scopes,
                resource_id=str(raw["resourceId"]),
                issued_at=datetime.fromtimestamp(int(raw["iat"]), UTC),
                expires_on=datetime.fromtimestamp(int(raw["exp"]), UTC),
            )
            epoch = int(raw["epoch"])
        except (ValueError, TypeError) as exc:
            raise TokenError(ErrorCode.TOKEN_MALFORMED, f"The token's claims are invalid: {exc}.") from None
        return claims, epoch
