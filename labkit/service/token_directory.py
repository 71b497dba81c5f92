"""The ACS guide's ``userStore``: app-level user names mapped to communication identities, each held by a secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ErrorCode, LabkitError
from ..identity import CommunicationUserIdentifier, IdentityClient, TokenScope

NAME_HOLD_SECONDS = 600.0
"""How long a name stays bound to its holder after the holder was last signed in or got a token."""


@dataclass
class _Claim:
    user: CommunicationUserIdentifier
    secret_hash: bytes
    held_until: float


class TokenDirectory:
    """The ACS guide's ``userStore``: an app-level user name mapped to its communication identity.

    The first to ask for a name gets a ``nameSecret`` with its token; later tokens for that name
    need that secret while the name is in use (its user signed in, or seen within
    ``hold_seconds``). A name nobody has used for that long can be claimed again, and then it
    gets a new identity. ``is_online(user_id)`` tells whether a user is signed in now.
    """

    def __init__(
        self,
        identity: IdentityClient,
        is_online: Callable[[str], bool] = lambda _: False,
        hold_seconds: float = NAME_HOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identity = identity
        self.is_online = is_online
        self.hold_seconds = hold_seconds
        self._clock = clock
        self._claims: dict[str, _Claim] = {}
        self._names_of: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def token_for(self, name: str, secret: str | None = None) -> tuple[str, str, str]:
        """A fresh voip token for ``name``: ``(token, user id, name secret)``; ``name-taken`` if someone holds it."""
        async with self._lock:
            claim = self._claims.get(name)
            now = self._clock()
            if claim is not None and self.identity.user_exists(claim.user.id):
                if secret is not None and _matches(secret, claim.secret_hash):
                    return await self._issue(claim, secret)
                if self.is_online(claim.user.id) or now < claim.held_until:
                    raise LabkitError(
                        ErrorCode.NAME_TAKEN,
                        f"The name {name!r} is in use by someone else.",
                        "Pick another name, or send the nameSecret you got when you first took this one.",
                    )
            user, token = await asyncio.to_thread(self.identity.create_user_and_token, [TokenScope.VOIP])
            secret = secrets.token_urlsafe(24)
            self._claims[name] = _Claim(user, _hash(secret), now + self.hold_seconds)
            self._names_of[user.id] = name
            return token.token, user.id, secret

    async def _issue(self, claim: _Claim, secret: str) -> tuple[str, str, str]:
        claim.held_until = self._clock() + self.hold_seconds
        fresh = await asyncio.to_thread(self.identity.get_token, claim.user, [TokenScope.VOIP])
        return fresh.token, claim.user.id, secret

    def seen(self, user_id: str) -> None:
        """``user_id`` was signed in until now: its name stays held for ``hold_seconds`` more."""
        name = self._names_of.get(user_id)
        claim = self._claims.get(name) if name is not None else None
        if claim is not None and claim.user.id == user_id:
            claim.held_until = self._clock() + self.hold_seconds

    def names(self) -> dict[str, str]:
        return {name: claim.user.id for name, claim in self._claims.items()}


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _matches(secret: str, secret_hash: bytes) -> bool:
    return hmac.compare_digest(_hash(secret), secret_hash)
