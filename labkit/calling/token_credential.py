"""The agent's credential. ACS: ``AzureCommunicationTokenCredential``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import jwt

TokenRefresher = Callable[[], str | Awaitable[str]]

REFRESH_MARGIN = timedelta(seconds=30)


def token_expiry(token: str) -> datetime | None:
    """The ``exp`` of a JWT (not verified), or ``None`` if it has none."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return datetime.fromtimestamp(int(exp), UTC) if isinstance(exp, int | float) else None


class TokenCredential:
    """A token, and optionally a way to get a fresh one when it is about to expire.

    ``refresh`` is a function (sync or async) returning a new token string, for example
    one that calls your ``/api/token`` endpoint (ACS: ``tokenRefresher``). With one, a
    call agent sends the service a fresh token ``refresh_before`` (30 s) before the current
    one expires, so a notebook left open stays able to call (ACS: ``refreshProactively``).
    """

    def __init__(
        self, token: str, refresh: TokenRefresher | None = None, refresh_before: timedelta = REFRESH_MARGIN
    ) -> None:
        if not token:
            raise ValueError("a token is required; get one from POST /api/token or an identity client")
        self._token = token
        self._refresh = refresh
        self.refresh_before = refresh_before
        """How long before its expiry the token is refreshed."""

    @property
    def token(self) -> str:
        return self._token

    @property
    def can_refresh(self) -> bool:
        """A refresher was given: a call agent keeps the service's copy of the token fresh."""
        return self._refresh is not None

    @property
    def expires_on(self) -> datetime | None:
        return token_expiry(self._token)

    def is_expired(self, margin: timedelta = timedelta(0), *, now: datetime | None = None) -> bool:
        """The token expires within ``margin`` of ``now`` (default: the system clock's time)."""
        expires = self.expires_on
        return expires is not None and expires <= (now or datetime.now(UTC)) + margin

    async def get_token(self, *, now: datetime | None = None) -> str:
        """The token, refreshed first if it expires within ``refresh_before`` and a refresher was given."""
        if self._refresh is not None and self.is_expired(self.refresh_before, now=now):
            fresh = self._refresh()
            if inspect.isawaitable(fresh):
                fresh = await fresh
            self._token = str(fresh)
        return self._token

    def dispose(self) -> None:
        self._refresh = None
