"""The seed's ``userStore``: app-level user names mapped to communication identities."""

from __future__ import annotations

import asyncio

from ..identity import CommunicationUserIdentifier, IdentityClient, TokenScope


class TokenDirectory:
    """The seed's ``userStore``: an app-level user name mapped to its communication identity."""

    def __init__(self, identity: IdentityClient) -> None:
        self.identity = identity
        self._users: dict[str, CommunicationUserIdentifier] = {}
        self._lock = asyncio.Lock()

    async def token_for(self, name: str) -> tuple[str, str]:
        """A fresh voip token for ``name``, creating its identity the first time."""
        async with self._lock:
            known = self._users.get(name)
            if known is None or not self.identity.user_exists(known.id):
                user, token = await asyncio.to_thread(self.identity.create_user_and_token, [TokenScope.VOIP])
                self._users[name] = user
                return token.token, user.id
        fresh = await asyncio.to_thread(self.identity.get_token, known, [TokenScope.VOIP])
        return fresh.token, known.id

    def names(self) -> dict[str, str]:
        return {name: user.id for name, user in self._users.items()}
