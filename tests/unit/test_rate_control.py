"""labkit's REMB rate control against aiortc's, fed the same usage signals: it recovers from a lifted cap."""

from __future__ import annotations

from aiortc.rate import AimdRateControl, BandwidthUsage

from labkit.media.rate_control import RateControl


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
