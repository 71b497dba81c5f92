"""A class that mixes browsers and notebooks: two web-app pages and three Python agents in one Janus room."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import numpy as np
import pytest

from labkit import Call, Features
from labkit.protocol.messages import SFU_ID
from labkit.service import EmbeddedService
from labkit.stats import MediaStatsCollector

from ..helpers import Factory, eventually, frames_arrive, has_audio, has_stamp
from .chromium_lab import CHROMIUM_FLAGS, chromium_context
from .web_pages import WebPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for context in chromium_context(CHROMIUM_FLAGS):
        yield context


async def receiving(page: WebPage, user_ids: set[str]) -> bool:
    """The page decodes video and plays audio from every one of ``user_ids`` (its getStats)."""
    summary = await page.call()
    if summary is None:
        return False
    peers = summary["peers"]
    return all(
        peers.get(u, {}).get("video") and peers[u]["video"]["framesDecoded"] > 10 and peers[u]["audio"]["packets"] > 50
        for u in user_ids
    )


VIDEO_IN = ("frames_received", "frames_decoded", "frames_dropped", "nack_count", "pli_count", "bitrate")


def video_received(stats: MediaStatsCollector, name: str) -> str:
    """The last samples of the video received from ``name``: why a stream starved."""
    samples = [
        s for s in stats.samples if (s.participant, s.direction.value, s.kind.value) == (name, "receive", "video")
    ]
    return "; ".join(str({key: s.metrics.get(key) for key in VIDEO_IN}) for s in samples[-3:]) or "no samples"


def sees(call: Call, count: int) -> bool:
    return len(call.remote_participants) == count


async def test_two_pages_and_three_agents_in_one_sfu_room(
    sfu_service: EmbeddedService, sfu_people: Factory, browser: Any
) -> None:
    group = str(uuid.uuid4())
    agents = [await sfu_people(name) for name in ("Ann", "Ben", "Cat")]
    calls = [person.agent.join(group, video_options=await person.camera(1 + i % 2)) for i, person in enumerate(agents)]
    pages = [await WebPage.open(browser, sfu_service.url, name) for name in ("dora", "eli")]
    for page in pages:
        await page.dial(group, video=True)
        await page.wait_state("Connected")
    everyone = {person.agent.user_id for person in agents} | {page.user_id for page in pages}
    # the pages: a sendonly link to the SFU, and every other member decoded (video and audio)
    for page in pages:
        others = everyone - {page.user_id}
        deadline = asyncio.get_running_loop().time() + 20
        while not await receiving(page, others):
            assert asyncio.get_running_loop().time() < deadline, f"{page.name}: {await page.call()}"
            await asyncio.sleep(0.2)
        summary = await page.call()
        assert summary is not None
        assert set(summary["peers"]) == others | {SFU_ID}
        assert summary["peers"][SFU_ID]["outVideo"]["framesEncoded"] > 10  # published once
        assert summary["peers"][SFU_ID]["video"] is None  # and nothing comes back on it
    # the agents: the pages' fake cameras and microphones, and each other's stamps
    for call in calls:
        await call.wait_for_remote_participants(4, timeout=15)
        for participant in call.remote_participants:
            stream = participant.video_streams[0]
            await stream.wait_until_available(10)
            # five members on two cores: a starved second may hold 0 to 3 frames, so the wait is longer
            stats = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=1.0)
            try:
                await frames_arrive(stream, 5, within=8, what=f"{participant.display_name}'s video")
            except AssertionError as starved:
                link = call.media.links.get(participant.identifier.raw_id)
                state = (
                    (link.connection_state, link.ice_connection_state, link.dtls_state, link.failure) if link else None
                )
                audio = participant.audio_level_dbfs()
                seen = video_received(stats, participant.display_name)
                raise AssertionError(f"{starved}; link {state}, audio {audio:.1f} dBFS; {seen}") from None
            finally:
                await stats.dispose()
            if participant.display_name in ("dora", "eli"):
                image = stream.latest_image()
                assert image is not None
                assert float(np.std(image)) > 10, "Chromium's fake frames are not uniform"
            else:
                await eventually(partial(has_stamp, stream), 10, f"{participant.display_name}'s stamp")
            await eventually(partial(has_audio, participant), 10, f"audio from {participant.display_name}")
    # a page leaves: the agents see it, and its handles close at the SFU
    await pages[1].button("Hang up").click()
    for call in calls:
        await eventually(partial(sees, call, 3), 10, "eli leaving")
    assert sfu_service.sfu is not None
    await eventually(lambda: pages[1].user_id not in sfu_service.sfu.subscriptions(group), 5, "eli's handles closed")  # type: ignore[union-attr]
