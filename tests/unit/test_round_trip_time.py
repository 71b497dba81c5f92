"""Round-trip time from RTCP report blocks (RFC 3550 §6.4.1), as W3C's getStats reports it."""

from __future__ import annotations

import pytest

from labkit.media.round_trip_time import DLSR_UNITS_PER_SECOND, RoundTripTime


def test_a_block_echoing_the_newest_sender_report_measures_the_round_trip() -> None:
    rtt = RoundTripTime()
    # the SR left at 100.0; the receiver held it 0.25 s; its block arrives at 100.45
    rtt.on_report_block(lsr=7, dlsr=int(0.25 * DLSR_UNITS_PER_SECOND), sent_lsr=7, sent_at=100.0, now=100.45)
    assert rtt.latest == pytest.approx(0.2, abs=1e-4)
    assert rtt.measurements == 1


def test_a_block_echoing_an_older_report_or_none_measures_nothing() -> None:
    rtt = RoundTripTime()
    rtt.on_report_block(lsr=6, dlsr=1000, sent_lsr=7, sent_at=100.0, now=100.5)  # an SR sent since
    rtt.on_report_block(lsr=0, dlsr=0, sent_lsr=7, sent_at=100.0, now=100.5)  # no SR received yet
    rtt.on_report_block(lsr=7, dlsr=1000, sent_lsr=None, sent_at=None, now=100.5)  # none sent yet
    assert rtt.latest is None
    assert rtt.measurements == 0
    assert rtt.average is None


def test_one_late_report_does_not_linger_and_the_average_keeps_every_one() -> None:
    rtt = RoundTripTime()
    for at, round_trip in enumerate([0.2, 0.9, 0.2]):  # the middle report was handled late
        sent = 100.0 + at
        rtt.on_report_block(
            lsr=at + 1, dlsr=DLSR_UNITS_PER_SECOND // 10, sent_lsr=at + 1, sent_at=sent, now=sent + 0.1 + round_trip
        )
    assert rtt.latest == pytest.approx(0.2, abs=1e-4)  # aiortc's moving average would still say 0.305
    assert rtt.measurements == 3
    assert rtt.average == pytest.approx(1.3 / 3, abs=1e-4)
    assert rtt.total == pytest.approx(1.3, abs=1e-4)
