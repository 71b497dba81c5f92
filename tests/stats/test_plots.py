"""The plots' data: lines, their values and labels, and the call's events marked on the time axis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from matplotlib.lines import Line2D

from labkit.calling import Features
from labkit.stats.plots import PANELS, LiveCallPlot, plot_call, save_plot

from ..helpers import Factory, eventually, samples_after, video_call


def data(values: object) -> list[float]:
    """A line's x or y data as floats (matplotlib types it loosely)."""
    return [float(v) for v in np.asarray(values).ravel()]


def lines_by_label(ax: object) -> dict[str, Line2D]:
    return {line.get_label(): line for line in ax.get_lines() if not str(line.get_label()).startswith("_")}  # type: ignore[attr-defined]


async def test_plot_call_draws_each_panel_from_the_collectors_data(people: Factory, tmp_path: Path) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await samples_after(collector, 3)
    await call.mute()
    await call.hold()
    await asyncio.sleep(0.3)
    await samples_after(collector, 2)
    await collector.dispose()
    figure = plot_call(collector)
    axes = figure.axes
    assert [ax.get_ylabel() for ax in axes] == [title for title, _ in PANELS]
    bitrate = lines_by_label(axes[0])
    assert {"send video", "receive video", "send audio", "receive audio", "encoder target (REMB)"} <= set(bitrate)
    frame = collector.to_dataframe()
    expected = frame[(frame.metric == "bitrate") & (frame.direction == "receive") & (frame.kind == "video")]
    assert data(bitrate["receive video"].get_ydata()) == pytest.approx([v / 1000 for v in expected["value"]])
    assert data(bitrate["receive video"].get_xdata()) == list(expected["time"])
    assert max(data(lines_by_label(axes[1])["received"].get_ydata())) >= 25
    # the events are vertical lines on every panel, labelled on the top one
    labels = [text.get_text() for text in axes[0].texts]
    assert labels == ["muted", "hold"]
    for ax in axes:
        vertical = [line for line in ax.get_lines() if str(line.get_label()).startswith("_")]
        assert len(vertical) == 2
        assert {tuple(data(line.get_xdata())) for line in vertical} == {(at, at) for at, _ in collector.events}
    path = save_plot(collector, tmp_path / "stats.png")
    assert path.stat().st_size > 20_000


async def test_plot_call_accepts_a_dataframe(people: Factory) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    await samples_after(collector, 2)
    figure = plot_call(collector.to_dataframe())
    assert "receive video" in lines_by_label(figure.axes[0])


async def test_the_live_plot_updates_in_place(people: Factory) -> None:
    _, _, call, _ = await video_call(people, bob_camera=2)
    collector = call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.3)
    live = LiveCallPlot(collector)
    figure = live.figure

    def points() -> int:
        line = lines_by_label(figure.axes[1]).get("received")
        return len(data(line.get_xdata())) if line is not None else 0

    await eventually(lambda: points() >= 2, what="the live plot's first points")
    first = points()
    await eventually(lambda: points() > first, what="the live plot growing")
    assert live.figure is figure  # the same figure, redrawn
    assert live.png().startswith(b"\x89PNG")
    live.close()
