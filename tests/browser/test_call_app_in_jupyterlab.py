"""Two call apps in real JupyterLab, used from real Chromium like a person would."""

from __future__ import annotations

import asyncio
import shutil
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labkit.media import frame_code

from .chromium_lab import ARTIFACTS, Lab
from .lab_notebooks import KERNEL_IDLE, NOTEBOOK_TEXT, result, run_cells

NOTEBOOK_03 = Path(__file__).resolve().parents[2] / "notebooks" / "03_call_app.ipynb"

pytestmark = pytest.mark.browser


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"call-app-{name}.png"))


# The buttons of the notebook's widgets whose label does not fit (the browser shows "..." instead).
TRUNCATED_BUTTONS = """() => [...document.querySelectorAll('.jp-OutputArea-output .jupyter-button')]
  .filter((button) => button.offsetParent !== null && button.scrollWidth > button.clientWidth + 1)
  .map((button) => button.textContent.trim() || button.title)"""


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


async def test_two_call_apps_call_each_other_from_the_page(lab: Lab, page: Any) -> None:
    await page.goto(lab.notebook_url("two_call_apps.ipynb"))
    await run_cells(page, 0)
    await page.get_by_text("labkit · Alice").wait_for(timeout=90_000)
    await page.get_by_text("labkit · Bob").wait_for(timeout=30_000)
    # a page is attached, so the apps use the browser bridge: the previews are native <video>s
    await page.locator(".labkit-browser-media", has_text="attached").first.wait_for(timeout=30_000)
    await page.locator("video.labkit-browser-video").first.wait_for(timeout=30_000)
    assert await page.get_by_text("Error displaying widget").count() == 0
    copy = page.locator("button.labkit-copy").first  # the anywidget, rendered in the page
    await copy.click()
    await page.locator("button.labkit-copy", has_text="Copied").wait_for(timeout=5_000)
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("8:acs:"), copied  # Alice's user id, on the clipboard
    await shot(page, "1-setup")

    await page.get_by_placeholder("user id, name or group id").first.fill("bob")
    await page.get_by_role("button", name="Video call").first.click()
    await page.get_by_text("Alice is calling you").wait_for(timeout=20_000)
    await shot(page, "2-incoming")

    await page.get_by_role("button", name="Accept with video").click()
    hang_up = page.get_by_role("button", name="Hang up")
    await hang_up.nth(1).wait_for(timeout=20_000)  # both apps are on their call page
    bob_tile = page.locator(".labkit-tile", has_text="Bob").locator("video.labkit-browser-video")
    await bob_tile.wait_for(timeout=20_000)  # Bob's video in Alice's app, over the bridge
    await bob_tile.scroll_into_view_if_needed()

    async def decoded() -> frame_code.FrameStamp | None:
        return frame_code.decode(pixels(await bob_tile.screenshot()))

    for _ in range(100):  # until the tile shows Bob's video (not the placeholder)
        if await decoded() is not None:
            break
        await asyncio.sleep(0.2)
    first = await bob_tile.screenshot()
    await asyncio.sleep(1.0)
    second = await bob_tile.screenshot()
    assert not np.array_equal(pixels(first), pixels(second)), "the remote tile's pixels did not change"
    stamps = []
    for _ in range(12):  # read the stamp from several samples
        stamp = await decoded()
        if stamp is not None:
            stamps.append(stamp)
        await asyncio.sleep(0.15)
    assert len(stamps) >= 2, stamps
    assert {s.camera for s in stamps} == {1}  # Bob's camera 1, really received
    assert stamps[-1].frame_number > stamps[0].frame_number
    await shot(page, "3-in-call")

    await page.get_by_role("button", name="Mute").first.click()
    await page.get_by_role("button", name="Unmute").first.wait_for(timeout=10_000)
    alice_tile_label = page.locator(".labkit-tile", has_text="Alice")
    await alice_tile_label.filter(has_text="· muted").wait_for(timeout=10_000)  # Bob's app sees Alice muted
    await shot(page, "4-muted")
    for width in (1400, 800):  # a wide window, and a narrow one with the file browser open
        await page.set_viewport_size({"width": width, "height": 1000})
        await asyncio.sleep(0.5)
        await shot(page, f"4-muted-{width}px")
        assert await page.evaluate(TRUNCATED_BUTTONS) == [], f"labels cut short at {width} px"
    await page.set_viewport_size({"width": 1500, "height": 1100})
    # opening one app's stats leaves the app beside it its share of the row
    await page.get_by_text("Call stats").first.click()
    await page.wait_for_timeout(2500)  # a plot drawn
    widths = await page.evaluate(
        "() => [...document.querySelectorAll('.labkit-app')].map((app) => app.getBoundingClientRect().width)"
    )
    assert len(widths) == 2, widths
    assert min(widths) > 0.8 * max(widths), f"one app squeezed the other: {widths}"
    await shot(page, "4-stats-open")
    await page.get_by_text("Call stats").first.click()

    # Bob's video off: Alice's tile shows his initials (and keeps his bridge video, to release it)
    await page.get_by_role("button", name="Stop video").nth(1).click()
    await page.get_by_role("button", name="Start video").wait_for(timeout=15_000)  # Bob's app took the click
    bob_video = page.locator(".labkit-tile", has_text="Bob").locator("video")
    try:
        await bob_video.wait_for(state="detached", timeout=30_000)
    except Exception as error:  # say which side lost it
        await run_cells(page, 2)
        raise AssertionError(f"Alice's app still shows Bob's video: {await result(page, 'video off')}") from error

    await hang_up.first.click()
    await page.get_by_text("Alice hung up (0)").wait_for(timeout=15_000)  # Bob's end notice
    await page.get_by_text("The call was hung up (0)").wait_for(timeout=15_000)  # Alice's
    await shot(page, "5-ended")
    assert await page.get_by_text("Error displaying widget").count() == 0
    # the ended call page released both its bridge videos, Bob's (off) included
    await run_cells(page, 1)
    assert await result(page, "after the call") == "RESULT after the call 1 bridge videos, only the picker's: True"


# Each code cell's state in JupyterLab's model: a cell whose run never ends stays "running" ([*]).
CELL_STATES = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cells = widget.content.model.cells;
  const states = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code') states.push([i, cell.executionState, cell.executionCount]);
  }
  return {cells: states, kernel: widget.sessionContext.session.kernel.status};
}"""


async def run_all_to_the_end(page: Any, bound: float = 120.0) -> float:
    """Run every cell and wait until each has finished: a cell left running with the kernel idle fails."""
    await page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    idle_since: float | None = None
    while True:
        state = await page.evaluate(CELL_STATES)
        running = [cell for cell in state["cells"] if cell[1] == "running"]
        if not running and state["kernel"] == "idle" and all(cell[2] for cell in state["cells"]):
            return loop.time() - start
        if running and state["kernel"] == "idle":
            idle_since = idle_since or loop.time()
            assert loop.time() - idle_since < 10, f"a cell stays running while the kernel is idle: {state}"
        else:
            idle_since = None
        assert loop.time() - start < bound, f"Run All did not finish in {bound:.0f} s: {state}"
        await asyncio.sleep(0.25)


@pytest.mark.timeout(600)  # ten Run Alls of about 15 s each, and up to twice that on a loaded machine
async def test_notebook_03_runs_to_the_end_in_jupyterlab_ten_times(lab: Lab, page: Any) -> None:
    """Run All, ten times over (a kernel restart between): every cell finishes, none stays at [*]."""
    shutil.copy(NOTEBOOK_03, lab.root)
    await page.goto(lab.notebook_url("03_call_app.ipynb"))
    times = []
    for run in range(10):
        if run:
            await page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
        times.append(await run_all_to_the_end(page))
        text = str(await page.evaluate(NOTEBOOK_TEXT))
        assert "mute button: Unmute | value: True" in text, text[-2000:]
        assert "Dan's tiles: ['Carol']" in text, text[-2000:]
    assert await page.get_by_text("Error displaying widget").count() == 0
    # Run All leaves both calls up; the last cell's button ends them
    outputs = page.locator(".jp-OutputArea-output")
    await outputs.filter(has_text="Alice").first.wait_for(timeout=10_000)
    await page.screenshot(path=str(ARTIFACTS / "notebook-03.png"), full_page=True)
    await page.get_by_role("button", name="Hang up and clean up").click()
    await page.get_by_text("Done: the calls are over and the devices released.", exact=True).wait_for(timeout=30_000)
    print("Run All of notebook 03, seconds:", [round(t, 1) for t in times])
