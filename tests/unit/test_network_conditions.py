"""The network lab's decisions, datagram by datagram, against a clock that does not run."""

from __future__ import annotations

import itertools

import pytest

from labkit.media.network_conditions import GilbertElliott, Impairment, NetworkConditions


def run(conditions: NetworkConditions, count: int, every: float = 0.001, size: int = 1000) -> list[list[float]]:
    impairment = Impairment(conditions, seed=7)
    return [impairment.schedule(size, n * every) for n in range(count)]


def test_a_perfect_network_delivers_every_datagram_at_once() -> None:
    assert NetworkConditions().is_perfect
    assert run(NetworkConditions(), 100) == [[0.0]] * 100


def test_independent_loss_drops_the_configured_share() -> None:
    results = run(NetworkConditions(loss=0.3), 20_000)
    lost = sum(not copies for copies in results) / len(results)
    assert lost == pytest.approx(0.3, abs=0.015)


def test_bursty_loss_has_the_model_mean_and_longer_runs_than_independent_loss() -> None:
    burst = GilbertElliott(p=0.05, r=0.25)  # mean loss 1/6, bursts of 4 datagrams on average
    bursty = [not copies for copies in run(NetworkConditions(burst=burst), 40_000)]
    independent = [not copies for copies in run(NetworkConditions(loss=burst.mean_loss), 40_000)]
    assert sum(bursty) / len(bursty) == pytest.approx(burst.mean_loss, abs=0.02)

    def mean_run(lost: list[bool]) -> float:
        runs = [len(list(group)) for value, group in itertools.groupby(lost) if value]
        return sum(runs) / len(runs)

    assert mean_run(bursty) == pytest.approx(1 / burst.r, rel=0.15)
    assert mean_run(independent) < 1.5


def test_delay_and_jitter_without_reordering_keep_the_order() -> None:
    results = run(NetworkConditions(delay_ms=100, jitter_ms=30), 2_000, every=0.002)
    arrivals = [n * 0.002 + copies[0] for n, copies in enumerate(results)]
    assert arrivals == sorted(arrivals)
    delays = [copies[0] for copies in results]
    assert min(delays) >= 0.07
    # keeping the order holds some datagrams behind a slower one ahead: the mean grows a little
    assert 0.1 <= sum(delays) / len(delays) <= 0.13


def test_jitter_with_reordering_lets_datagrams_overtake() -> None:
    results = run(NetworkConditions(delay_ms=50, jitter_ms=20, reorder=True), 2_000, every=0.002)
    arrivals = [n * 0.002 + copies[0] for n, copies in enumerate(results)]
    overtaken = sum(1 for a, b in itertools.pairwise(arrivals) if b < a)
    assert overtaken > 100


def test_a_bandwidth_cap_spaces_the_datagrams_and_drops_what_overflows_its_queue() -> None:
    impairment = Impairment(NetworkConditions(bandwidth_kbps=300, queue_ms=100), seed=1)
    delivered = [impairment.schedule(1000, n * 0.001) for n in range(200)]  # 8 Mbit/s offered to 300 kbit/s
    departures = [n * 0.001 + copies[0] for n, copies in enumerate(delivered) if copies]
    gaps = [b - a for a, b in itertools.pairwise(departures)]
    assert all(gap == pytest.approx(1000 * 8 / 300_000) for gap in gaps)
    assert impairment.counts.queue_drops > 150
    assert max(copies[0] for copies in delivered if copies) <= 0.1 + 0.027


def test_duplication_sends_a_second_copy() -> None:
    results = run(NetworkConditions(duplicate=1.0), 10)
    assert results == [[0.0, 0.0]] * 10


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"loss": 1.5}, "loss is a fraction from 0 to 1"),
        ({"delay_ms": -1}, "delay_ms cannot be negative"),
        ({"bandwidth_kbps": 0}, "bandwidth_kbps must be above 0"),
    ],
)
def test_impossible_conditions_say_what_is_wrong(knobs: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        NetworkConditions(**knobs)  # type: ignore[arg-type]
