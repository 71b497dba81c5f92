"""Token scopes, as ACS names them (``CommunicationTokenScope``)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TokenScope(StrEnum):
    """What a token lets its holder do. ACS: ``CommunicationTokenScope``."""

    VOIP = "voip"
    """Start, receive and join calls."""
    VOIP_JOIN = "voip.join"
    """Join group calls only; cannot start or receive calls."""
    CHAT = "chat"
    CHAT_JOIN = "chat.join"

    @classmethod
    def parse_many(cls, scopes: Iterable[str | TokenScope]) -> tuple[TokenScope, ...]:
        """Parse scope names, raising ``ValueError`` that lists the valid ones."""
        parsed: list[TokenScope] = []
        for scope in scopes:
            try:
                parsed.append(cls(scope))
            except ValueError:
                valid = ", ".join(s.value for s in cls)
                raise ValueError(f"unknown scope {scope!r}; valid scopes: {valid}") from None
        if not parsed:
            raise ValueError("at least one scope is required, for example 'voip'")
        return tuple(dict.fromkeys(parsed))


CALLING_SCOPES = frozenset({TokenScope.VOIP, TokenScope.VOIP_JOIN})
"""Scopes that allow signing in to the calling service."""
