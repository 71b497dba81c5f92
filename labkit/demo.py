"""``labkit demo``: a real video call between two agents (or a group), narrated from both sides."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .calling import (
    Call,
    CallAgent,
    CallClient,
    DeviceManager,
    Features,
    LocalVideoStream,
    RemoteParticipant,
    RemoteParticipantState,
    ValueChanged,
)
from .media.rgb import rgb_image
from .protocol.signaling_client import request_token
from .service import start_service
from .stats.plots import save_plot

TILE = (320, 240)


@dataclass
class Member:
    name: str
    client: CallClient
    agent: CallAgent
    devices: DeviceManager
    call: Call | None = None
    last_bytes: dict[str, int] = field(default_factory=dict)


class Timeline:
    """Prints what happens, with the time since the demo started."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, who: str, text: str) -> None:
        print(f"{time.monotonic() - self.start:7.2f}s  {who:<8} {text}", flush=True)

    def watch_call(self, who: str, call: Call) -> None:
        call.on("state_changed", lambda e: self.say(who, f"call state: {e.value.value}"))
        call.on("is_muted_changed", lambda e: self.say(who, "muted" if e.value else "unmuted"))
        call.on("local_video_streams_updated", lambda e: self.say(who, "video on" if e.added else "video off"))
        call.on("remote_participants_updated", lambda e: self._participants(who, e.added, e.removed))
        self._participants(who, call.remote_participants, ())  # those already in the call (the ACS guide's step 5)

    def _watch_participant(self, who: str, participant: RemoteParticipant) -> None:
        name = participant.display_name or "?"

        def state(event: ValueChanged[RemoteParticipantState]) -> None:
            self.say(who, f"  {name} is {event.value.value}")

        def muted(event: ValueChanged[bool]) -> None:
            self.say(who, f"  {name} {'muted' if event.value else 'unmuted'}")

        def video(event: ValueChanged[bool]) -> None:
            self.say(who, f"  {name}'s video {'available' if event.value else 'unavailable'}")

        participant.on("state_changed", state)
        participant.on("is_muted_changed", muted)
        participant.video_streams[0].on("is_available_changed", video)

    def _participants(
        self, who: str, added: tuple[RemoteParticipant, ...], removed: tuple[RemoteParticipant, ...]
    ) -> None:
        for participant in added:
            self.say(who, f"+ participant {participant.display_name} ({participant.state.value})")
            self._watch_participant(who, participant)
        for participant in removed:
            reason = participant.call_end_reason
            code = f" ({reason.code}/{reason.sub_code})" if reason else ""
            self.say(who, f"- participant {participant.display_name}{code}")


async def _sign_in(endpoint: str, name: str) -> Member:
    token, _ = await request_token(endpoint, name.lower())
    client = CallClient(endpoint)
    agent = await client.create_call_agent(token, name)
    return Member(name, client, agent, await client.get_device_manager())


def _stats_line(members: list[Member], seconds: float) -> str:
    parts = []
    for member in members:
        if member.call is None:
            continue
        for participant in member.call.remote_participants:
            stream = participant.video_streams[0]
            total = participant.bytes_received
            previous = member.last_bytes.get(participant.user_id)
            member.last_bytes[participant.user_id] = total
            kbps = f"{(total - previous) * 8 / 1000 / seconds:6.0f}" if previous is not None else "     -"
            parts.append(f"{participant.display_name}→{member.name} {stream.frame_rate:4.0f} fps {kbps} kbps")
    return " | ".join(parts)


def _save_remote_views(members: list[Member], path: Path) -> Path:
    tiles = []
    for member in members:
        for participant in member.call.remote_participants if member.call else ():
            frame = participant.video_streams[0].latest_frame()
            tile = rgb_image(frame, *TILE) if frame is not None else np.zeros((TILE[1], TILE[0], 3), np.uint8)
            tiles.append(tile)
    if not tiles:
        raise RuntimeError("no remote video to save")
    columns = min(len(tiles), 4)
    rows = -(-len(tiles) // columns)
    sheet = np.zeros((rows * TILE[1], columns * TILE[0], 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * TILE[1] : (r + 1) * TILE[1], c * TILE[0] : (c + 1) * TILE[0]] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)
    return path


async def _with_stats(members: list[Member], timeline: Timeline, script: Callable[[], Awaitable[None]]) -> None:
    """Run ``script`` while printing a stats line a second; dispose every member's client after."""

    async def report() -> None:
        while True:
            await asyncio.sleep(1.0)
            line = _stats_line(members, 1.0)
            if line:
                timeline.say("stats", line)

    reporter = asyncio.get_running_loop().create_task(report())
    try:
        await script()
    finally:
        reporter.cancel()
        for member in members:
            await member.client.dispose()


MIN_SECONDS = 8.0
"""The shortest 1:1 demo: its seven changes get about a second each, and the stats two samples each."""
GROUP_MIN_SECONDS = 2.0
"""The shortest group demo: two stats lines once everyone is connected."""


async def _one_to_one(endpoint: str, seconds: float, out: Path, timeline: Timeline) -> Path:
    alice, bob = await _sign_in(endpoint, "Alice"), await _sign_in(endpoint, "Bob")
    members = [alice, bob]
    timeline.say("Alice", f"signed in as {alice.agent.user_id}")
    timeline.say("Bob", f"signed in as {bob.agent.user_id}")
    step = seconds / 15.0  # the script below takes 15 steps
    sample_interval = min(1.0, max(0.25, step / 2))  # two or more samples for every step of the script

    async def pause(steps: float) -> None:
        await asyncio.sleep(steps * step)

    async def script() -> None:
        cameras = await alice.devices.get_cameras()
        camera = LocalVideoStream(cameras[0])
        timeline.say("Alice", f"video-calls Bob with {cameras[0].name}")
        alice.call = alice.agent.start_call([bob.agent.identifier], video_options=camera)
        timeline.watch_call("Alice", alice.call)
        incoming = await bob.agent.wait_for_incoming_call()
        timeline.say("Bob", f"incoming call from {incoming.caller_info.display_name}; accepting with video")
        bob.call = await incoming.accept(video_options=LocalVideoStream((await bob.devices.get_cameras())[1]))
        timeline.watch_call("Bob", bob.call)
        await alice.call.wait_for_state("Connected")
        collector = alice.call.feature(Features.MEDIA_STATS).create_collector(sample_interval=sample_interval)
        await pause(2.5)
        await alice.call.mute()
        await pause(1.5)
        await alice.call.unmute()
        await pause(1.5)
        await alice.call.stop_video(camera)
        await pause(1.5)
        await alice.call.start_video(camera)
        await pause(1.5)
        timeline.say("Alice", f"switches to {cameras[1].name}")
        await camera.switch_source(cameras[1])
        await pause(2)
        await alice.call.hold()
        await pause(1.5)
        await alice.call.resume()
        await pause(2.5)
        picture = _save_remote_views(members, out / "remote-views.png")
        timeline.say("demo", f"wrote {picture} (each side's last remote frame)")
        await collector.dispose()
        timeline.say("demo", f"wrote {save_plot(collector, out / 'call-stats.png')} (Alice's view of the call)")
        timeline.say("demo", f"wrote {collector.to_csv(out / 'call-stats.csv')} ({len(collector.rows())} rows)")
        await alice.call.hang_up()
        await bob.call.wait_for_state("Disconnected")
        reason = bob.call.call_end_reason
        timeline.say("Bob", f"call ended: {reason.code}/{reason.sub_code} {reason.message}" if reason else "call ended")

    await _with_stats(members, timeline, script)
    return out / "remote-views.png"


async def _group(endpoint: str, size: int, seconds: float, out: Path, timeline: Timeline) -> Path:
    group_id = str(uuid.uuid4())
    names = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan"][:size]
    members = [await _sign_in(endpoint, name) for name in names]
    timeline.say("demo", f"{size} agents join group {group_id}")

    async def script() -> None:
        for number, member in enumerate(members):
            camera = LocalVideoStream((await member.devices.get_cameras())[number % 2])
            member.call = member.agent.join(group_id, video_options=camera)
            timeline.watch_call(member.name, member.call)
            await member.call.wait_for_state("Connected")
        for member in members:
            assert member.call is not None
            await member.call.wait_for_remote_participants(size - 1, timeout=30)
        timeline.say("demo", "full mesh connected")
        await asyncio.sleep(seconds)
        picture = _save_remote_views(members, out / "remote-views.png")
        timeline.say("demo", f"wrote {picture}")
        for member in members:
            assert member.call is not None
            await member.call.hang_up()

    await _with_stats(members, timeline, script)
    return out / "remote-views.png"


async def run_demo(
    endpoint: str | None = None, seconds: float = 15.0, group: int = 0, out: Path = Path("demo-output")
) -> int:
    """Run the demo: a 1:1 video call with every control (or a group call of ``group`` agents).

    Raises ``ValueError`` for a group size or a duration it cannot show (see ``MIN_SECONDS``).
    """
    if group == 1 or group > 9:
        raise ValueError(f"--group takes 2 to 9 agents, not {group}")
    least = GROUP_MIN_SECONDS if group else MIN_SECONDS
    if seconds < least:
        what = f"a group call of {group} needs" if group else "the 1:1 script (seven changes, a second each) needs"
        raise ValueError(
            f"--seconds {seconds:g} is too short to show anything: {what} at least {least:g} s. "
            f"Use --seconds {least:g} or more (the default is 15)."
        )
    service = None if endpoint else start_service()
    base = endpoint or (service.url if service else "")
    timeline = Timeline()
    timeline.say("service", f"{base} ({'embedded' if service else 'remote'})")
    try:
        if group:
            await _group(base, group, seconds, out, timeline)
        else:
            await _one_to_one(base, seconds, out, timeline)
        timeline.say("demo", "done")
        return 0
    finally:
        if service is not None:
            service.stop()
