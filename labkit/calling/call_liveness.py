"""A call's ticker: who is speaking, and which peer has gone silent for good (labkit).

ACS raises ``isSpeakingChanged``; labkit measures it from the received audio every
``SPEAKING_INTERVAL``. On the same tick, a peer that sent nothing at all (no RTP, no RTCP)
for ``DEAD_SECONDS`` is judged frozen or gone: in a group it is dropped and the others go
on; in a 1:1 call the call ends with 410/3100 and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from ..errors import LabkitError
from ..media.engine import log_failure
from ..media.liveness import DEAD_SECONDS
from ..protocol import end_reasons
from ..protocol.messages import SFU_ID, HangUp
from .call_messages import participant_left

if TYPE_CHECKING:
    from .call_session import CallSession

logger = logging.getLogger(__name__)

SPEAKING_INTERVAL = 0.1


async def tick(session: CallSession) -> None:
    """Every ``SPEAKING_INTERVAL``: refresh who speaks, and check that every peer is still heard."""
    while True:
        await asyncio.sleep(SPEAKING_INTERVAL)
        for participant in list(session.participants.values()):
            participant.refresh_speaking()
        check(session)


def check(session: CallSession) -> None:
    """Drop the link to a peer that sent nothing (no RTP, no RTCP) for ``DEAD_SECONDS``: frozen or gone."""
    for user_id, link in list(session.mesh.links.items()):
        participant = session.participants.get(user_id)
        if session.held or (participant is not None and participant.is_on_hold):
            link.liveness.heard()  # a held link may be silent: browsers send nothing while inactive
            continue
        if link.silence() > DEAD_SECONDS and user_id not in session.gone:
            session.gone.add(user_id)
            task = asyncio.ensure_future(_peer_gone(session, user_id, link.silence()))
            task.add_done_callback(log_failure("dropping a frozen peer"))


async def _peer_gone(session: CallSession, user_id: str, silence: float) -> None:
    name = session.name_of(user_id)
    logger.warning("call %s: nothing from %s for %.1f s; the peer is frozen or gone", session.id[:8], name, silence)
    reason = end_reasons.NETWORK.with_message(
        f"Nothing arrived from {name} for {silence:.0f} s (no media, no RTCP): their app froze or lost the network."
    )
    if user_id == SFU_ID:  # the SFU carries everyone's media: without it the call is over
        reason = end_reasons.SFU_LOST.with_message(
            f"Nothing arrived from the SFU for {silence:.0f} s (no media, no RTCP): "
            "it stopped, or the network to it failed."
        )
    elif session.is_group and len(session.participants) > 1:
        await participant_left(session, user_id, reason)  # the others go on
        session.gone.discard(user_id)  # should it come back, it is judged afresh
        return
    await session.finish(reason)
    with contextlib.suppress(LabkitError, ConnectionError):
        await session.send(HangUp(call_id=session.id, for_everyone=False))
