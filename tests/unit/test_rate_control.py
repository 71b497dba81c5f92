"""labkit's REMB rate control against aiortc's, fed the same usage signals: it recovers from a lifted cap."""

from __future__ import annotations

from aiortc.rate import AimdRateControl, BandwidthUsage

from labkit.media.rate_control import LossBasedLimit, RateControl, RetransmissionBudget


def recovery_seconds(control: AimdRateControl) -> float:
    """Ramp to ~800 kbit/s, overuse down to a 300 kbit/s link, lift it: seconds until the estimate is back at 600."""
    now = 0
    throughput = 800_000
    control.update(BandwidthUsage.NORMAL, throughput, now)
    for _ in range(10):  # initialised at the throughput after 3 s
        now += 500
        control.update(BandwidthUsage.NORMAL, throughput, now)
    for _ in range(6):  # the cap: overuse, the throughput falls to what the link carries
        now += 500
        throughput = 250_000
        control.update(BandwidthUsage.OVERUSING, throughput, now)
    lifted = now
    estimate = control.current_bitrate
    while estimate < 600_000 and now - lifted < 60_000:
        now += 500
        throughput = min(int(estimate * 0.9), 2_000_000)  # the sender follows the estimate
        estimate = control.update(BandwidthUsage.NORMAL, throughput, now) or estimate
    return (now - lifted) / 1000


def test_the_estimate_recovers_in_seconds_where_aiortcs_takes_tens() -> None:
    ours, theirs = recovery_seconds(RateControl()), recovery_seconds(AimdRateControl())
    assert ours < 8
    assert theirs > 2 * ours


def test_an_overuse_during_the_recovery_stops_it() -> None:
    control = RateControl()
    recovery_seconds(control)
    control.recovering_to = 2_000_000
    control.update(BandwidthUsage.OVERUSING, 500_000, 200_000)
    assert control.recovering_to is None
    assert control.current_bitrate <= 0.85 * 500_000 + 1


def test_loss_above_10_percent_lowers_the_limit_and_a_clean_link_lifts_it() -> None:
    limit = LossBasedLimit()
    limit.on_report(0.3, 500_000, 0.0)
    assert limit.limit == 425_000  # (1 - 0.3 / 2) x 500 kbit/s
    limit.on_report(0.05, 425_000, 1.0)  # between 2% and 10%: held
    assert limit.limit == 425_000
    limit.on_report(0.0, 425_000, 2.0)
    limit.on_report(0.0, 425_000, 3.0)
    assert limit.limit == 425_000  # not yet 2 s clean
    limit.on_report(0.0, 425_000, 4.5)
    assert limit.limit is None


def test_retransmissions_stay_within_the_target() -> None:
    budget = RetransmissionBudget()
    sent = sum(budget.allow(240_000, i / 1000) for i in range(1000))  # 1000 requests in one second
    assert 20 <= sent <= 7 + 240_000 / (8 * 1200) + 1  # 25 packets a second, plus a burst
    assert budget.refused == 1000 - sent
