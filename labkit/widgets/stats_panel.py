"""The stats panel: the live plots of ``labkit.stats`` and the latest diagnostics as badges.

The plots are redrawn as a PNG in an ``ipywidgets.Image`` every couple of seconds rather
than through ipympl. That needs no front-end extension, works in JupyterLab, classic
notebooks, nbclient and exported notebooks alike, and costs about 100 ms of kernel time
per redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from typing import Any

import ipywidgets as widgets

from ..calling import Call, Features
from ..stats import DiagnosticChanged, DiagnosticQuality
from ..stats.plots import LiveCallPlot


def badge(name: str, value: object) -> str:
    bad = value is True or (isinstance(value, DiagnosticQuality) and value is not DiagnosticQuality.GOOD)
    colour = "#c62828" if bad else "#2e7d32"
    shown = value.name.title() if isinstance(value, DiagnosticQuality) else ("yes" if value else "no")
    label = name.replace("_", " ")
    return (
        f'<span style="display:inline-block;margin:2px;padding:2px 6px;border-radius:8px;'
        f'background:{colour};color:white;font-size:small">{html.escape(f"{label}: {shown}")}</span>'
    )


class StatsPanel(widgets.VBox):
    """ACS: MediaStats and UserFacingDiagnostics, shown live."""

    def __init__(self, call: Call, sample_interval: float = 1.0, redraw_every: float = 2.0, **kwargs: Any) -> None:
        self.call = call
        self.collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=sample_interval)
        self.diagnostics = call.feature(Features.USER_FACING_DIAGNOSTICS)
        self.live = LiveCallPlot(self.collector)
        self.plot = widgets.Image(format="png", layout={"width": "100%"})
        self.badges = widgets.HTML()
        self.redraw_every = redraw_every
        self.active = True
        """Redraw the plots (``False`` while the panel is folded away: the badges still follow)."""
        super().__init__([self.badges, self.plot], **kwargs)
        self.diagnostics.network.on("diagnostic_changed", self._on_diagnostic)
        self.diagnostics.media.on("diagnostic_changed", self._on_diagnostic)
        self._show_badges()
        self._task: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):
            self._task = asyncio.get_event_loop().create_task(self._redraw_loop())

    def redraw(self) -> None:
        self.live.update()
        self.plot.value = self.live.png()

    def _on_diagnostic(self, _: DiagnosticChanged) -> None:
        self._show_badges()

    def _show_badges(self) -> None:
        self.badges.value = "".join(badge(k, v) for k, v in self.diagnostics.get_latest().items())

    async def _redraw_loop(self) -> None:
        while self.call.state.value != "Disconnected":
            await asyncio.sleep(self.redraw_every)
            if self.active and self.collector.samples:
                self.redraw()

    async def dispose(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.live.close()
        await self.collector.dispose()
        await self.diagnostics.dispose()
