"""The media stats collector's maths: counters into rates, samples into summaries."""

from __future__ import annotations

import pytest

from labkit.stats.rates import CounterRates, Point, summarize


def test_rates_are_zero_at_first_then_per_second_over_the_time_elapsed() -> None:
    rates = CounterRates()
    assert rates.update("k", {"bytes": 1000.0, "packets": 10.0}, now=5.0) == {"bytes": 0.0, "packets": 0.0}
    assert rates.update("k", {"bytes": 4000.0, "packets": 40.0}, now=5.5) == {"bytes": 6000.0, "packets": 60.0}


def test_each_key_keeps_its_own_history() -> None:
    rates = CounterRates()
    rates.update(("bob", "send"), {"bytes": 0.0}, now=0.0)
    rates.update(("carol", "send"), {"bytes": 500.0}, now=0.0)
    assert rates.update(("bob", "send"), {"bytes": 100.0}, now=1.0) == {"bytes": 100.0}
    assert rates.update(("carol", "send"), {"bytes": 700.0}, now=2.0) == {"bytes": 100.0}


def test_a_counter_that_restarts_gives_zero_not_a_negative_rate() -> None:
    rates = CounterRates()
    rates.update("k", {"frames": 900.0}, now=0.0)
    assert rates.update("k", {"frames": 30.0}, now=1.0) == {"frames": 0.0}


def test_a_new_counter_starts_at_zero() -> None:
    rates = CounterRates()
    rates.update("k", {"bytes": 10.0}, now=0.0)
    assert rates.update("k", {"bytes": 20.0, "lost": 3.0}, now=1.0) == {"bytes": 10.0, "lost": 0.0}


def test_the_summary_is_mean_min_and_max_of_numbers_in_the_window() -> None:
    key = ("Bob", "receive", "video")
    points: list[Point] = [
        (1.0, key, {"bitrate": 100.0, "codec_name": "VP8"}),
        (2.0, key, {"bitrate": 300.0, "jitter_in_ms": None}),
        (3.0, key, {"bitrate": 200.0}),
        (4.0, key, {"bitrate": 9999.0}),  # after the window
    ]
    aggregates = summarize(points, start=0.5, end=3.0)
    assert aggregates == {("Bob", "receive", "video", "bitrate"): pytest.approx((200.0, 100.0, 300.0))}
    assert summarize(points, start=3.0, end=4.0) == {("Bob", "receive", "video", "bitrate"): (9999.0, 9999.0, 9999.0)}
