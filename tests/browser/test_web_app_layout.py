"""The web app as a person meets it, in Chromium at desktop and phone sizes: who is online, calling and
cancelling, a ring, a large view with you in a corner, speaking and network indicators, the stats drawer,
and a layout that fits a phone. Screenshots go to tests/artifacts/web-app-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from labkit import CallState
from labkit.service import EmbeddedService

from ..helpers import Factory
from .chromium_lab import CHROMIUM_FLAGS, chromium_context
from .web_pages import WebPage, page_video_calls

pytestmark = pytest.mark.browser

# how far the page's content reaches past the window (0: nothing needs a sideways scroll)
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
RECT = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return [r.x, r.y, r.width, r.height];
}"""
STATS_ROWS = """() => [...document.querySelectorAll('#stats-table tbody tr')]
  .map((row) => [...row.cells].map((cell) => cell.textContent))"""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for context in chromium_context(CHROMIUM_FLAGS, width=1400, height=900):
        yield context


async def test_people_calling_cancel_and_the_ring(service: EmbeddedService, people: Factory, browser: Any) -> None:
    alice = await WebPage.open(browser, service.url, "alice")
    # the first person sees the ones who sign in after her, without reloading
    await alice.page.get_by_text("Nobody else yet").wait_for(timeout=5_000)
    bob = await people("Bob")
    carol = await WebPage.open(browser, service.url, "carol")
    people_list = alice.page.locator("#people-list")
    await people_list.locator("li", has_text="carol").locator(".dot.online").wait_for(timeout=10_000)
    await people_list.locator("li", has_text="Bob").wait_for(timeout=10_000)
    assert (await alice.page.locator("#me").text_content() or "") == "Signed in as alice"  # not the 8:acs: id
    # Alice calls Bob from the list: "Calling bob…" with Cancel, and a ringback while it rings
    await alice.button("Call Bob").click()
    await bob.agent.wait_for_incoming_call(timeout=10)
    await alice.page.get_by_text("Calling Bob…").wait_for(timeout=10_000)
    await alice.page.wait_for_function("() => window.labkit.ringer.ringing === 'outgoing'", timeout=10_000)
    # while it rings, Alice sees her own camera (the preview), and who is in the call
    await alice.page.wait_for_function(
        "() => { const v = document.getElementById('local-video'); return v.videoWidth > 0 && !v.paused; }",
        timeout=10_000,
    )
    await alice.page.locator("#roster", has_text="Bob (Ringing)").wait_for(timeout=10_000)
    await alice.shot("layout-1-calling")
    await alice.button("Cancel").click()
    await alice.wait_state("Disconnected")
    assert await alice.page.evaluate("window.labkit.ringer.ringing") is None
    # Carol's page rings when Bob calls her, and stops when she answers
    call = bob.agent.start_call([carol.user_id])
    await carol.page.get_by_text("Bob is calling you").wait_for(timeout=10_000)
    assert await carol.page.evaluate("window.labkit.ringer.ringing") == "incoming"
    await carol.button("Accept with audio").click()
    await call.wait_for_state(CallState.CONNECTED, timeout=15)
    assert await carol.page.evaluate("window.labkit.ringer.ringing") is None
    await call.hang_up()
    # signing out leaves the list (offline) and shows the sign-in again
    await carol.button("Sign out").click()
    await carol.page.locator("#sign-in").wait_for(state="visible", timeout=5_000)
    await carol.page.wait_for_timeout(500)
    assert await carol.page.locator("#error").is_hidden(), await carol.page.locator("#error").text_content()
    await people_list.locator("li", has_text="carol").locator(".dot:not(.online)").wait_for(timeout=10_000)


async def test_a_call_looks_right_on_a_desktop_and_on_a_phone(
    service: EmbeddedService, people: Factory, browser: Any
) -> None:
    bob = await people("Bob")
    alice = await WebPage.open(browser, service.url, "alice")
    call = await page_video_calls(alice, bob)
    remote = f'.tile.remote[data-user-id="{bob.agent.user_id}"]'
    await alice.page.locator(f"{remote} video").wait_for(timeout=10_000)
    # the remote view is large, and you are a small picture in its corner
    big, small = await alice.page.evaluate(RECT, remote), await alice.page.evaluate(RECT, ".tile.local")
    assert big[2] > 600, big
    assert small[2] < big[2] / 3, (small, big)
    assert big[0] < small[0], "you, inside the remote view"
    assert small[0] + small[2] <= big[0] + big[2] + 1
    assert big[1] < small[1]
    assert small[1] + small[3] <= big[1] + big[3] + 1
    # Bob's tone makes his tile 'speaking'; his link is 'good' on loopback
    await alice.page.locator(f"{remote}.speaking").wait_for(timeout=10_000)
    await alice.page.locator(f"{remote} .quality.good").wait_for(timeout=10_000)
    # the stats drawer: a row per direction and kind, with real rates
    await alice.page.get_by_text("Call stats").click()
    rows = alice.page.locator("#stats-table tbody tr")
    await rows.nth(3).wait_for(timeout=10_000)
    cells = await alice.page.evaluate(STATS_ROWS)
    received_video = next(row for row in cells if row[1:3] == ["receive", "video"])
    assert float(received_video[3]) > 50, cells  # kbit/s
    assert float(received_video[8]) > 10, cells  # frames/s
    await alice.shot("layout-2-desktop-1400")
    assert await alice.page.evaluate(OVERFLOW) <= 0
    # on a phone (390 px), the same call fits the screen
    await alice.page.set_viewport_size({"width": 390, "height": 844})
    await alice.page.wait_for_timeout(300)
    assert await alice.page.evaluate(OVERFLOW) <= 0, "the page is wider than a phone"
    big = await alice.page.evaluate(RECT, remote)
    assert 300 < big[2] <= 390, big
    await alice.shot("layout-3-phone-390")
    # hold: the holder sees an overlay that says so
    await alice.button("Hold").click()
    await alice.page.get_by_text("You put the call on hold").wait_for(timeout=10_000)
    await alice.shot("layout-4-phone-hold")
    await alice.button("Resume").click()
    await alice.wait_state("Connected")
    await alice.button("Hang up").click()
    await call.wait_for_state(CallState.DISCONNECTED, timeout=10)
