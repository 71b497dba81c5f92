"""Text from other people is never markup: a caller named like an HTML tag, in real JupyterLab and Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from .chromium_lab import ARTIFACTS, Lab
from .lab_notebooks import result, run_cells

pytestmark = pytest.mark.browser

EVIL_TEXT = "<img src=x onerror="
INJECTED = "() => ({images: document.querySelectorAll('img[src=\"x\"]').length, ran: window.labkitInjected || 0})"


async def test_a_display_name_full_of_markup_is_shown_as_text_everywhere(lab: Lab, page: Any) -> None:
    await page.goto(lab.notebook_url("hostile_names.ipynb"))
    await run_cells(page, 0)
    prompt = page.locator(".jp-OutputArea-output", has_text="is calling you")
    await prompt.wait_for(timeout=90_000)
    assert EVIL_TEXT in await prompt.inner_text()  # the incoming-call prompt shows the name as text
    await page.get_by_role("button", name="Accept").first.click()  # audio only

    await run_cells(page, 1)  # the caller mutes and records; a second CallControls and VideoPanel show it
    assert await result(page, "recording") == "RESULT recording [True]"
    tiles = page.locator(".labkit-tile", has_text=EVIL_TEXT)
    await tiles.filter(has_text="· muted").first.wait_for(timeout=15_000)  # the name on the video tiles
    await page.locator(".jp-OutputArea-output", has_text=f"● recording ({EVIL_TEXT}").first.wait_for(timeout=15_000)

    await run_cells(page, 2)  # the caller hangs up: the end reason's message carries the name
    assert await result(page, "ended") == "RESULT ended True"
    await page.get_by_text(f"{EVIL_TEXT}", exact=False).filter(has_text="hung up").first.wait_for(timeout=15_000)
    status = page.locator(".jp-OutputArea-output", has_text="Disconnected").filter(has_text="hung up.)")
    await status.first.wait_for(timeout=15_000)  # CallControls' status line, where the markup used to run
    await page.screenshot(path=str(ARTIFACTS / "hostile-names.png"), full_page=True)
    assert await page.evaluate(INJECTED) == {"images": 0, "ran": 0}
