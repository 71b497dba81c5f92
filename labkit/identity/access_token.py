"""Access tokens and their verified claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from ..errors import ErrorCode, TokenError
from .identifier import CommunicationUserIdentifier
from .scopes import CALLING_SCOPES, TokenScope


class AccessToken(NamedTuple):
    """A token and when it expires. ACS: ``AccessToken``."""

    token: str
    expires_on: datetime


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says about its holder."""

    user: CommunicationUserIdentifier
    scopes: tuple[TokenScope, ...]
    resource_id: str
    issued_at: datetime
    expires_on: datetime

    def allows(self, *scopes: TokenScope) -> bool:
        """True if the token carries any of ``scopes``."""
        return any(scope in self.scopes for scope in scopes)

    def require_calling(self) -> None:
        """Raise ``token-scope-insufficient`` unless the token may call (``voip`` or ``voip.join``)."""
        if not self.allows(*CALLING_SCOPES):
            raise TokenError(
                ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
                f"The token's scopes ({', '.join(self.scopes)}) do not allow calling.",
                "Get a token with the voip or voip.join scope.",
            )
