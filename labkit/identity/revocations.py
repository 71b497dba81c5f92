"""Telling the service at once when a user's tokens are revoked or the user is deleted.

ACS ends a revoked user's sessions at once; a labkit identity backend announces each
``revoke_tokens`` and ``delete_user`` here, and the service ends that user's connection
and calls (495/4507).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..errors import ErrorCode, TokenError

logger = logging.getLogger(__name__)

RevocationListener = Callable[[str, TokenError], None]
"""Called with the user id and the error that its live sessions end with (any thread)."""


class Revocations:
    """Who listens for revoked tokens and deleted users of one identity backend. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[RevocationListener] = []

    def subscribe(self, listener: RevocationListener) -> Callable[[], None]:
        """Call ``listener`` on every revocation from now on; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def revoked(self, user_id: str) -> None:
        self._announce(user_id, TokenError(ErrorCode.TOKEN_REVOKED, "Your tokens have been revoked.", _HINT))

    def deleted(self, user_id: str) -> None:
        self._announce(user_id, TokenError(ErrorCode.USER_DELETED, "Your user has been deleted.", "Create a new user."))

    def _announce(self, user_id: str, error: TokenError) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(user_id, error)
            except Exception:  # one listener's failure must not stop the revocation
                logger.exception("a revocation listener failed")


_HINT = "Sign in again with a fresh token from POST /api/token."
