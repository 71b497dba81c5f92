"""Network conditions, in process: loss, delay, jitter, duplication and a bandwidth cap (labkit; netem's knobs).

Linux's ``netem`` needs root and a kernel module, which a class's laptops (and this
machine) do not have. So labkit impairs a link itself, on the encrypted UDP datagrams
between DTLS and ICE: DTLS, SRTP, RTP, RTCP, the jitter buffer and congestion control
above it all see a real, bad network. ICE's own STUN checks pass untouched.

``Impairment.schedule(size, now)`` is the whole decision for one datagram (pure, so it is
tested in milliseconds): the delays after which its copies are delivered, or none if it
is lost. The transport wrappers in ``peer_connection`` carry the decisions out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Literal

Direction = Literal["send", "receive"]


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Bursty loss (Gilbert-Elliott): a good and a bad state, each with its own loss rate.

    Each datagram, the channel moves from good to bad with probability ``p`` and from bad to
    good with ``r``; the mean burst lasts ``1 / r`` datagrams.
    """

    p: float
    r: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    @property
    def mean_loss(self) -> float:
        """The long-run loss rate."""
        bad = self.p / (self.p + self.r) if self.p + self.r else 0.0
        return bad * self.loss_bad + (1 - bad) * self.loss_good


@dataclass(frozen=True, slots=True)
class NetworkConditions:
    """What the network does to one direction of one link. The default is a perfect network."""

    loss: float = 0.0
    """The chance that a datagram is lost (0 to 1), each independently."""
    burst: GilbertElliott | None = None
    """Bursty loss instead of independent loss."""
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    """Each datagram's delay varies by up to this much either way (uniformly)."""
    reorder: bool = False
    """With jitter: a datagram may overtake an earlier one. Without, jitter only delays (order is kept)."""
    duplicate: float = 0.0
    """The chance that a datagram arrives twice."""
    bandwidth_kbps: float | None = None
    """A bottleneck: datagrams leave no faster than this; ``None`` is no cap."""
    queue_ms: float = 250.0
    """The bottleneck's queue: a datagram that would wait longer than this is dropped (tail drop)."""

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a fraction from 0 to 1 (0.1 is 10 %), not {value}")
        for name in ("delay_ms", "jitter_ms", "queue_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.bandwidth_kbps is not None and self.bandwidth_kbps <= 0:
            raise ValueError("bandwidth_kbps must be above 0 (or None for no cap)")

    @property
    def is_perfect(self) -> bool:
        return self == NetworkConditions()

    def but(self, **changes: object) -> NetworkConditions:
        """A copy with some knobs changed: ``conditions.but(loss=0.1)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(slots=True)
class ImpairmentCounts:
    """What an impairment did so far."""

    datagrams: int = 0
    lost: int = 0
    """Dropped by the configured loss."""
    queue_drops: int = 0
    """Dropped because the bottleneck's queue was full."""
    duplicated: int = 0
    delayed: int = 0
    delay_ms_total: float = 0.0

    @property
    def dropped(self) -> int:
        return self.lost + self.queue_drops


class Impairment:
    """One direction of one link: its conditions (changeable at any time) and what they did."""

    def __init__(self, conditions: NetworkConditions | None = None, seed: int | None = None) -> None:
        self.counts = ImpairmentCounts()
        self._random = random.Random(seed)
        self._bad = False
        self._link_free_at = 0.0
        self._last_delivery = 0.0
        self.conditions = conditions or NetworkConditions()

    @property
    def conditions(self) -> NetworkConditions:
        return self._conditions

    @conditions.setter
    def conditions(self, conditions: NetworkConditions) -> None:
        if not isinstance(conditions, NetworkConditions):
            raise TypeError("conditions must be a NetworkConditions, e.g. NetworkConditions(loss=0.1)")
        self._conditions = conditions
        self.is_perfect = conditions.is_perfect
        """No impairment: datagrams pass untouched (one test per datagram)."""

    def schedule(self, size: int, now: float) -> list[float]:
        """The delays (seconds from ``now``) after which this datagram's copies arrive; empty if it is lost."""
        conditions, counts, chance = self._conditions, self.counts, self._random
        counts.datagrams += 1
        if self._lost(conditions):
            counts.lost += 1
            return []
        departure = now
        if conditions.bandwidth_kbps is not None:  # the bottleneck: a queue drained at the capped rate
            start = max(now, self._link_free_at)
            if (start - now) * 1000 > conditions.queue_ms:
                counts.queue_drops += 1
                return []
            self._link_free_at = start + size * 8 / (conditions.bandwidth_kbps * 1000)
            departure = self._link_free_at
        delay = departure - now + conditions.delay_ms / 1000
        if conditions.jitter_ms:
            delay += chance.uniform(-conditions.jitter_ms, conditions.jitter_ms) / 1000
        delay = max(0.0, delay)
        if not conditions.reorder:  # jitter without reordering: never before the datagram ahead of it
            delay = max(delay, self._last_delivery - now)
        self._last_delivery = now + delay
        if delay > 0:
            counts.delayed += 1
            counts.delay_ms_total += delay * 1000
        copies = [delay]
        if conditions.duplicate and chance.random() < conditions.duplicate:
            counts.duplicated += 1
            copies.append(delay)
        return copies

    def _lost(self, conditions: NetworkConditions) -> bool:
        chance = self._random
        if conditions.burst is not None:
            burst = conditions.burst
            self._bad = chance.random() >= burst.r if self._bad else chance.random() < burst.p
            return chance.random() < (burst.loss_bad if self._bad else burst.loss_good)
        return conditions.loss > 0 and chance.random() < conditions.loss
