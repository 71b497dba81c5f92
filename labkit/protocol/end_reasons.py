"""Why a call (or one participant's part in it) ended. ACS: ``CallEndReason`` codes and subcodes.

The codes and subcodes follow ACS where ACS has them; the ones labkit adds follow the SIP
status families that ACS uses, and are marked below.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LabkitError, TokenError


@dataclass(frozen=True, slots=True)
class CallEndReason:
    """A code and a subcode, with a message for people. ACS: ``CallEndReason``."""

    code: int
    sub_code: int
    message: str = ""

    def with_message(self, message: str) -> CallEndReason:
        return CallEndReason(self.code, self.sub_code, message)

    def same_as(self, other: CallEndReason) -> bool:
        """True if code and subcode match (the message is ignored)."""
        return (self.code, self.sub_code) == (other.code, other.sub_code)


LOCAL_HANG_UP = CallEndReason(0, 0, "The call was hung up.")
"""0/0: a participant hung up (ACS)."""
CANCELLED = CallEndReason(487, 0, "The caller cancelled the call before it was answered.")
"""487/0: cancelled before answer (ACS)."""
DECLINED = CallEndReason(603, 0, "The callee declined the call.")
"""603/0: declined (ACS)."""
ALL_DECLINED = CallEndReason(0, 5003, "Every callee declined the call.")
"""0/5003: all callees declined (ACS)."""
REMOVED = CallEndReason(0, 5000, "Another participant removed you from the call.")
"""0/5000: removed by another participant (ACS)."""
ENDED_FOR_EVERYONE = CallEndReason(0, 4097, "A participant ended the call for everyone.")
"""0/4097: the call was ended for all participants (ACS)."""
INVALID_TOKEN = CallEndReason(495, 4507, "The access token was refused.")
"""495/4507: invalid or expired token (ACS)."""
NETWORK = CallEndReason(410, 3100, "The connection to the service or the peer was lost.")
"""410/3100: network failure (ACS)."""
UNKNOWN_USER = CallEndReason(404, 0, "No user with that identifier exists.")
"""404/0: the callee is not a known identity (labkit)."""
USER_OFFLINE = CallEndReason(480, 0, "The callee is not signed in.")
"""480/0: the callee exists but has no call agent signed in (labkit)."""
NO_ANSWER = CallEndReason(408, 0, "The callee did not answer in time.")
"""408/0: nobody answered before the ring timeout, 30 s by default (labkit)."""
REQUEST_REFUSED = CallEndReason(400, 0, "The service refused the request.")
"""400/0: the service refused to start, join or accept the call; the message says why (labkit)."""
INTERNAL_FAILURE = CallEndReason(500, 0, "labkit failed; the log says why.")
"""500/0: labkit itself failed while setting up the call; logged with its traceback (labkit)."""
NOT_ACCEPTABLE = CallEndReason(488, 0, "The media could not be negotiated.")
"""488/0: a peer's offer asked for media the other side cannot take; the message says what (labkit, SIP 488)."""
SECURE_TRANSPORT_FAILED = CallEndReason(410, 3101, "The encrypted media connection (DTLS) could not be set up.")
"""410/3101: ICE found a path but the DTLS handshake failed; the message says why (labkit)."""
SFU_LOST = CallEndReason(503, 3102, "The SFU that carried the call's media stopped.")
"""503/3102: the service's SFU (Janus) exited or stopped answering; the message names it (labkit)."""

MEDIA_FAILURES = (NOT_ACCEPTABLE, NETWORK, SECURE_TRANSPORT_FAILED)
"""The reasons an agent may give in ``hang-up``: its media to a peer failed, and the others are told why."""


def for_refusal(error: LabkitError) -> CallEndReason:
    """The end reason for a request the service refused: 495/4507 for a token, else 400 with its code."""
    if isinstance(error, TokenError):
        return INVALID_TOKEN.with_message(error.message)
    return REQUEST_REFUSED.with_message(f"{error.code.value}: {error.message}")


def for_failure(error: Exception) -> CallEndReason:
    """The end reason for labkit's own work that failed unexpectedly (500; the log has the traceback)."""
    return INTERNAL_FAILURE.with_message(
        f"labkit failed to set up the call ({type(error).__name__}: {str(error)[:200]}); see the log."
    )
