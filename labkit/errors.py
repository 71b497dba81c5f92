"""Error codes and the exception every labkit layer raises.

One source of truth: the service sends these codes in ``error`` messages, the identity
layer raises them for refused tokens, and the calling API surfaces them to users.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A machine-readable reason, sent on the wire as its string value."""

    # Tokens (sign-in and the token endpoint)
    TOKEN_MISSING = "token-missing"
    TOKEN_MALFORMED = "token-malformed"
    TOKEN_INVALID_SIGNATURE = "token-invalid-signature"
    TOKEN_EXPIRED = "token-expired"
    TOKEN_REVOKED = "token-revoked"
    TOKEN_SCOPE_INSUFFICIENT = "token-scope-insufficient"
    USER_DELETED = "user-deleted"
    TOKEN_WRONG_USER = "token-wrong-user"
    """A refreshed token belongs to another user than the one signed in."""
    # Session
    NOT_SIGNED_IN = "not-signed-in"
    ALREADY_SIGNED_IN = "already-signed-in"
    SIGN_IN_TIMEOUT = "sign-in-timeout"
    SIGNED_IN_ELSEWHERE = "signed-in-elsewhere"
    PROTOCOL_VERSION_UNSUPPORTED = "protocol-version-unsupported"
    # Messages
    MALFORMED_MESSAGE = "malformed-message"
    UNKNOWN_MESSAGE_TYPE = "unknown-message-type"
    INVALID_MESSAGE = "invalid-message"
    MESSAGE_TOO_LARGE = "message-too-large"
    RATE_LIMITED = "rate-limited"
    """The agent sent faster than the service's per-connection limit (see docs/protocol.md)."""
    INTERNAL_ERROR = "internal-error"
    """The service failed; the message was not acted on, and the connection stays."""
    # Calls
    CALL_NOT_FOUND = "call-not-found"
    NOT_IN_CALL = "not-in-call"
    CALL_ID_IN_USE = "call-id-in-use"
    ALREADY_IN_CALL = "already-in-call"
    NOT_INVITED = "not-invited"
    PARTICIPANT_NOT_IN_CALL = "participant-not-in-call"
    CALL_FULL = "call-full"
    OFFER_NOT_ACCEPTABLE = "offer-not-acceptable"
    """A peer's SDP offer asked for media labkit cannot take (a codec, no rtcp-mux): SIP 488."""
    SFU_UNAVAILABLE = "sfu-unavailable"
    """The SFU (Janus) could not be started or reached, or refused a request."""
    # Token endpoint
    BAD_REQUEST = "bad-request"
    IDENTITY_UNAVAILABLE = "identity-unavailable"
    ACCESS_DENIED = "access-denied"
    """The service needs its access code (``labkit serve --access-code``), and none or a wrong one came."""
    NAME_TAKEN = "name-taken"
    """Someone else holds that user name; only the holder's name secret gets its tokens."""
    # The calling API, before anything is sent
    INVALID_ARGUMENT = "invalid-argument"
    """A method of the calling API was given a value it cannot use."""
    SERVICE_UNREACHABLE = "service-unreachable"
    """The agent is reconnecting to the service; what needs signaling waits until it is back."""

    NO_PAGE = "no-page"
    """No notebook page is attached to the browser bridge (headless kernel)."""
    PERMISSION_DENIED = "permission-denied"
    # Recording
    RECORDING_FAILED = "recording-failed"
    """The recording's file cannot be written."""
    ALREADY_RECORDING = "already-recording"
    NOT_RECORDING = "not-recording"


class LabkitError(Exception):
    """An error with a code, a human message and, where useful, what to do about it."""

    def __init__(self, code: ErrorCode, message: str, hint: str | None = None) -> None:
        super().__init__(message if hint is None else f"{message} {hint}")
        self.code = code
        self.message = message
        self.hint = hint

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"


class TokenError(LabkitError):
    """A token was refused (forged, expired, revoked, lacking a scope, or of a deleted user)."""


class ArgumentError(LabkitError, ValueError):
    """A calling-API method was given a value it cannot use (``invalid-argument``); nothing was sent."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(ErrorCode.INVALID_ARGUMENT, message, hint)
