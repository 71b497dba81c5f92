"""Group calls as Janus videorooms: who publishes, who subscribes to whom (labkit).

A call routed through the SFU is one videoroom, named by the call id. A room lives on one
Janus instance; with several, the service puts each new room on the instance with the
fewest rooms (how Janus deployments scale: rooms spread, a room never spans instances),
and an instance that fails ends only the calls whose rooms it held. Each member
publishes once (its offer to ``SFU_ID``, Janus's answer back), and once its publisher is
up (Janus ``webrtcup``) it subscribes to every other member whose publisher is up, and
they to it: one subscriber handle per (member, feed). Janus's offer for a subscription
reaches the member as a signal from the feed's user, so on the agent's side each remote
participant is one downstream link. The roster stays the service's; Janus only moves media.

Everything here runs on the service's loop. The switchboard calls the plain methods,
which start tasks; what comes back from Janus goes to members through ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...protocol.messages import SFU_ID, IceCandidate, Message, SessionDescription, Signal, SignalPayload
from .janus_api import Event, JanusHandle, JanusSession
from .janus_process import JanusProcess, SfuError

logger = logging.getLogger(__name__)

ROOM_SIZE = 64
"""Most publishers in one videoroom (labkit's ``MAX_PARTICIPANTS``); a full room refuses joins."""
ROOM_BITRATE = 1_500_000
"""The most each publisher may send, in bit/s (Janus sends it REMB no higher; aiortc's own top is 1.5 Mbit/s)."""

Send = Callable[[str, Message], None]
"""Deliver a message to a user (the switchboard's ``_send_to``)."""


@dataclass(eq=False)
class SfuMember:
    """One member's handles in a room."""

    user_id: str
    publisher: JanusHandle | None = None
    is_up: bool = False
    """Its publisher's media is up (Janus ``webrtcup``): others may subscribe."""
    subscriptions: dict[str, JanusHandle] = field(default_factory=dict)
    """By the user id of the feed."""
    held: bool = False


class JanusInstance:
    """One Janus: the service's own (``process``) or one already running at ``url``."""

    def __init__(
        self, url: str | None = None, api_secret: str | None = None, *, process: JanusProcess | None = None
    ) -> None:
        if (url is None) == (process is None):
            raise ValueError("a Janus instance is either the service's own (process) or one at a url")
        self.process = process
        self._url = url
        self._api_secret = api_secret
        self.session: JanusSession | None = None
        self.on_lost: Callable[[JanusInstance, str], None] = lambda instance, why: None
        self._watcher: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        if self.process is not None:
            return self.process.url
        assert self._url is not None
        return self._url

    @property
    def name(self) -> str:
        """How members are told which SFU it is (in end reasons)."""
        return "janus" if self.process is not None else f"janus at {self.url}"

    @property
    def is_up(self) -> bool:
        return self.session is not None and self.session.lost is None

    async def start(self) -> None:
        """Start our Janus (if ours) and open a session on it; ``SfuError`` says what failed."""
        if self.process is not None:
            await self.process.start()
            self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="labkit-janus-watch")
        secret = self.process.api_secret if self.process is not None else self._api_secret
        self.session = JanusSession(self.url, secret, lambda why: self.on_lost(self, why))
        try:
            await self.session.open()
        except SfuError:
            await self.stop()
            raise

    async def _watch(self) -> None:
        assert self.process is not None
        code = await self.process.wait()
        if self.session is not None:
            self.session.lose(f"it exited with code {code}")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.process is not None:
            await self.process.stop()


@dataclass(eq=False)
class SfuRoom:
    call_id: str
    instance: JanusInstance
    members: dict[str, SfuMember] = field(default_factory=dict)
    created: asyncio.Future[None] | None = None

    @property
    def session(self) -> JanusSession:
        assert self.instance.session is not None
        return self.instance.session


class SfuRooms:
    """The service's SFU: one or more Janus instances, one room per call."""

    def __init__(self, instances: Sequence[JanusInstance]) -> None:
        if not instances:
            raise ValueError("an SFU needs at least one Janus instance")
        self.instances = tuple(instances)
        for instance in self.instances:
            instance.on_lost = self._lost
        self.rooms: dict[str, SfuRoom] = {}
        self.send: Send = lambda user_id, message: None
        self.on_lost: Callable[[str, str, list[str]], None] = lambda name, why, call_ids: None
        """Called when an instance is gone, with its name, why, and the calls whose rooms it held."""
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def is_available(self) -> bool:
        """Some instance can take a new room."""
        return any(instance.is_up for instance in self.instances)

    async def start(self) -> None:
        """Start every instance; if one fails, stop the others and raise its ``SfuError``."""
        try:
            for instance in self.instances:
                await instance.start()
        except SfuError:
            await self.stop()
            raise

    def instance_of(self, call_id: str) -> JanusInstance | None:
        """The Janus that holds ``call_id``'s room, if it has one."""
        room = self.rooms.get(call_id)
        return room.instance if room is not None else None

    def _pick(self) -> JanusInstance:
        """The instance for a new room: the one up with the fewest rooms."""
        load = {id(i): 0 for i in self.instances}
        for room in self.rooms.values():
            load[id(room.instance)] += 1
        candidates = [i for i in self.instances if i.is_up]
        if not candidates:
            raise SfuError("No SFU instance is up.", "Restart the service with its SFU.")
        return min(candidates, key=lambda i: load[id(i)])

    def _lost(self, instance: JanusInstance, why: str) -> None:
        lost = [call_id for call_id, room in self.rooms.items() if room.instance is instance]
        for call_id in lost:
            del self.rooms[call_id]
        self.on_lost(instance.name, why, lost)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for instance in self.instances:
            await instance.stop()

    # --- what the switchboard asks --------------------------------------------------------

    def publish(self, call_id: str, user_id: str, display_name: str, offer: SessionDescription) -> None:
        """``user_id`` publishes with ``offer``; Janus's answer goes back as a signal from ``SFU_ID``."""
        self._spawn(self._publish(call_id, user_id, display_name, offer), f"publishing {user_id}")

    def answer(self, call_id: str, user_id: str, feed: str, answer: SessionDescription) -> None:
        """``user_id``'s answer to Janus's offer for ``feed``: start that subscription."""
        self._spawn(self._start(call_id, user_id, feed, answer), f"{user_id}'s subscription to {feed}")

    def trickle(self, call_id: str, user_id: str, to: str, candidate: IceCandidate) -> None:
        """An ICE candidate from ``user_id`` for its publisher (``to == SFU_ID``) or a subscription."""
        member = self._member(call_id, user_id)
        handle = None
        if member is not None:
            handle = member.publisher if to == SFU_ID else member.subscriptions.get(to)
        if handle is None:
            return
        wire = (
            {"candidate": candidate.candidate, "sdpMid": candidate.sdp_mid, "sdpMLineIndex": candidate.sdp_m_line_index}
            if candidate.candidate
            else None
        )
        self._spawn(handle.trickle(wire), f"a candidate from {user_id}")

    def hold(self, call_id: str, user_id: str, held: bool) -> None:
        """Held: Janus forwards nothing to ``user_id`` (its own feeds are paused at its side)."""
        member = self._member(call_id, user_id)
        if member is None or member.held == held:
            return
        member.held = held
        for handle in list(member.subscriptions.values()):
            self._spawn(handle.message({"request": "pause" if held else "start"}), f"{user_id}'s hold")

    def leave(self, call_id: str, user_id: str) -> None:
        """``user_id`` left the call: its publisher and subscriptions go, and everyone's to it."""
        room = self.rooms.get(call_id)
        if room is None:
            return
        member = room.members.pop(user_id, None)
        handles = []
        if member is not None:
            handles = [*member.subscriptions.values()] + ([member.publisher] if member.publisher else [])
        for other in room.members.values():
            handle = other.subscriptions.pop(user_id, None)
            if handle is not None:
                handles.append(handle)
        for handle in handles:
            self._spawn(handle.detach(), f"{user_id} leaving")
        if not room.members:
            del self.rooms[call_id]
            self._spawn(self._destroy(room), f"closing room {call_id}")

    def close(self, call_id: str) -> None:
        """The call ended: every handle and the room go."""
        room = self.rooms.get(call_id)
        for user_id in list(room.members) if room is not None else ():
            self.leave(call_id, user_id)

    def subscriptions(self, call_id: str) -> dict[str, list[str]]:
        """Who receives whom in ``call_id``'s room, by member (for the media view and tests)."""
        room = self.rooms.get(call_id)
        return {m.user_id: sorted(m.subscriptions) for m in room.members.values()} if room else {}

    # --- Janus ------------------------------------------------------------------------------

    def _spawn(self, work: Awaitable[Any], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except SfuError as error:
                logger.warning("SFU: %s failed: %s", what, error.message)
            except Exception:
                logger.exception("SFU: %s failed", what)

        task = asyncio.get_running_loop().create_task(run(), name=f"labkit-sfu {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _member(self, call_id: str, user_id: str) -> SfuMember | None:
        room = self.rooms.get(call_id)
        return room.members.get(user_id) if room is not None else None

    async def _room(self, call_id: str) -> SfuRoom:
        room = self.rooms.get(call_id)
        if room is None:
            room = self.rooms[call_id] = SfuRoom(call_id, self._pick())
        if room.created is None:
            room.created = asyncio.ensure_future(self._create_room(room))
        await asyncio.shield(room.created)
        return room

    async def _create_room(self, room: SfuRoom) -> None:
        call_id = room.call_id
        handle = await room.session.attach()
        try:
            await handle.request(
                {
                    "request": "create",
                    "room": call_id,
                    "description": f"labkit call {call_id[:8]}",
                    "publishers": ROOM_SIZE,
                    "bitrate": ROOM_BITRATE,
                    "audiocodec": "opus",
                    "videocodec": "vp8,h264",
                    "notify_joining": False,
                }
            )
        finally:
            await handle.detach()

    async def _destroy(self, room: SfuRoom) -> None:
        if not room.instance.is_up:
            return
        call_id = room.call_id
        handle = await room.session.attach()
        try:
            with contextlib.suppress(SfuError):
                await handle.request({"request": "destroy", "room": call_id})
        finally:
            await handle.detach()

    async def _publish(self, call_id: str, user_id: str, display_name: str, offer: SessionDescription) -> None:
        room = await self._room(call_id)
        member = room.members.get(user_id)
        if member is None:
            member = room.members[user_id] = SfuMember(user_id)
        if member.publisher is not None:  # a new offer (a re-publish): start again
            logger.info("SFU: %s publishes again in %s", user_id, call_id[:8])
            old, member.publisher, member.is_up = member.publisher, None, False
            await old.detach()
        handle = await room.session.attach()
        member.publisher = handle
        handle.on_event = lambda event: self._on_publisher_event(call_id, user_id, event)
        event = await handle.message(
            {
                "request": "joinandconfigure",
                "room": call_id,
                "ptype": "publisher",
                "id": user_id,
                "display": display_name,
                "audio": True,
                "video": True,
            },
            {"type": "offer", "sdp": offer.sdp},
        )
        jsep = event.get("jsep")
        if jsep is None:
            raise SfuError(f"Janus sent no answer to {user_id}'s offer")
        if room.members.get(user_id) is not member:
            await handle.detach()  # left meanwhile
            return
        self.send(
            user_id, Signal(call_id=call_id, from_=SFU_ID, payload=SessionDescription(kind="answer", sdp=jsep["sdp"]))
        )

    def _on_publisher_event(self, call_id: str, user_id: str, event: Event) -> None:
        kind = event.get("janus")
        if kind == "webrtcup":
            room = self.rooms.get(call_id)
            member = room.members.get(user_id) if room else None
            if room is None or member is None or member.is_up:
                return
            member.is_up = True
            for other in list(room.members.values()):
                if other is not member and other.is_up:
                    self._spawn(self._subscribe(call_id, other.user_id, user_id), f"{other.user_id} to {user_id}")
                    self._spawn(self._subscribe(call_id, user_id, other.user_id), f"{user_id} to {other.user_id}")
        elif kind in ("hangup", "detached", "slowlink", "media"):
            logger.info("SFU: %s's publisher: %s %s", user_id, kind, event.get("reason") or event.get("type") or "")

    async def _subscribe(self, call_id: str, user_id: str, feed: str) -> None:
        room = self.rooms.get(call_id)
        member = room.members.get(user_id) if room is not None else None
        if room is None or member is None or feed in member.subscriptions:
            return
        handle = await room.session.attach()
        member.subscriptions[feed] = handle
        event = await handle.message(
            {"request": "join", "room": call_id, "ptype": "subscriber", "streams": [{"feed": feed}]}
        )
        jsep = event.get("jsep")
        if jsep is None:
            raise SfuError(f"Janus sent no offer for {user_id}'s subscription to {feed}")
        if self._member(call_id, user_id) is not member or member.subscriptions.get(feed) is not handle:
            await handle.detach()
            return
        self.send(
            user_id, Signal(call_id=call_id, from_=feed, payload=SessionDescription(kind="offer", sdp=jsep["sdp"]))
        )

    async def _start(self, call_id: str, user_id: str, feed: str, answer: SessionDescription) -> None:
        member = self._member(call_id, user_id)
        handle = member.subscriptions.get(feed) if member is not None else None
        if member is None or handle is None:
            return
        await handle.message({"request": "start"}, {"type": "answer", "sdp": answer.sdp})
        if member.held:
            await handle.message({"request": "pause"})


def sfu_signal(payload: SignalPayload) -> str:
    """What kind of SFU signal ``payload`` is: ``offer``, ``answer`` or ``candidate`` (others: ``other``)."""
    if isinstance(payload, SessionDescription):
        return payload.kind
    if isinstance(payload, IceCandidate):
        return "candidate"
    return "other"


__all__ = ["ROOM_SIZE", "JanusInstance", "SfuMember", "SfuRoom", "SfuRooms", "sfu_signal"]
