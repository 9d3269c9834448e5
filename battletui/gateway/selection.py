"""Selection: in which order to try the providers for one request.

A strategy only orders (``order(method)``); health tiers are applied on top by :func:`tiered`
so every strategy treats breakers, rate limits and lag the same way:

1. CLOSED, not rate-limited, not lagging;
2. CLOSED but lagging (demoted);
3. HALF-OPEN (each attempt needs a probe permit);
4. rate-limited (CLOSED or HALF-OPEN) — benched until their Retry-After has passed: skipped
   while anyone in tiers 1-3 is available, the last resort when nobody is.

OPEN breakers are skipped. Within a tier the strategy's order holds.

Strategies:

* ``fastest`` — lowest selection estimate for the request's method first (see
  :mod:`battletui.gateway.pool`: median of recent samples per method, falling back to the
  provider's overall median); never-measured providers first of all, so they get measured.
* ``priority`` — the configured order of the upstreams, first listed first.
* ``round-robin`` — rotate the starting point per request.
* ``latency-weighted`` — the first provider drawn at random with weight 1/latency² (seeded),
  the rest by latency for failover; never-measured providers first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from battletui.gateway.pool import UpstreamPool
from battletui.protocol.events import BreakerState
from battletui.scenario import STRATEGIES

__all__ = [
    "Estimate",
    "Fastest",
    "LatencyWeighted",
    "Priority",
    "RoundRobin",
    "Selector",
    "Strategy",
    "Tier",
    "Tiers",
    "make_selector",
    "tiered",
]

Estimate = Callable[[str, str | None], float | None]
"""Latency estimate in ms for (provider, method); None when the provider was never measured."""

LATENCY_FLOOR_MS: Final = 0.1
"""Estimates below this count as this much for ``latency-weighted`` (no division by ~0)."""


class Selector(Protocol):
    def order(self, method: str | None = None) -> list[str]:
        """All upstream ids, best first, for the next request (for ``method`` if given)."""
        ...


class RoundRobin:
    """Rotate the starting point per request so load spreads evenly."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = tuple(ids)
        self._next = 0

    def order(self, method: str | None = None) -> list[str]:
        if not self._ids:
            return []
        start = self._next
        self._next = (start + 1) % len(self._ids)
        return [*self._ids[start:], *self._ids[:start]]


class Priority:
    """The configured order, always: the first listed provider takes all the traffic."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = tuple(ids)

    def order(self, method: str | None = None) -> list[str]:
        return list(self._ids)


class Fastest:
    """Lowest estimated latency first; unmeasured providers first of all, so they get measured.

    Ties (several unmeasured, equal estimates) are broken by the seeded random source so a run
    is reproducible yet does not always favour the first configured provider. With
    ``explore=False`` unmeasured providers come last instead: for a long-lived choice (the
    WebSocket subscription) a provider known to be fast beats one not yet measured.
    """

    def __init__(
        self,
        ids: Sequence[str],
        estimate: Estimate,
        rng: random.Random,
        *,
        explore: bool = True,
    ) -> None:
        self._ids = tuple(ids)
        self._estimate = estimate
        self._rng = rng
        self._explore = explore

    def order(self, method: str | None = None) -> list[str]:
        keyed: list[tuple[bool, float, float, str]] = []
        for uid in self._ids:
            latency = self._estimate(uid, method)
            measured = latency is not None
            first = measured if self._explore else not measured
            keyed.append((first, latency or 0.0, self._rng.random(), uid))
        keyed.sort()
        return [uid for *_, uid in keyed]


class LatencyWeighted:
    """First pick drawn with weight 1/latency² (seeded), the rest by latency for failover.

    A provider twice as fast gets four times the traffic: load spreads, most of it where it is
    served fastest. Unmeasured providers go first (in configured order) so they get measured.
    """

    def __init__(self, ids: Sequence[str], estimate: Estimate, rng: random.Random) -> None:
        self._ids = tuple(ids)
        self._estimate = estimate
        self._rng = rng

    def order(self, method: str | None = None) -> list[str]:
        unmeasured: list[str] = []
        measured: list[tuple[float, str]] = []
        for uid in self._ids:
            latency = self._estimate(uid, method)
            if latency is None:
                unmeasured.append(uid)
            else:
                measured.append((max(latency, LATENCY_FLOOR_MS), uid))
        if not measured:
            return unmeasured
        weights = [1.0 / (latency * latency) for latency, _ in measured]
        point = self._rng.random() * sum(weights)
        chosen = len(measured) - 1
        for index, weight in enumerate(weights):
            point -= weight
            if point < 0:
                chosen = index
                break
        first = measured.pop(chosen)
        measured.sort()
        return [*unmeasured, first[1], *(uid for _, uid in measured)]


def make_selector(
    strategy: str,
    ids: Sequence[str],
    estimate: Estimate,
    rng: random.Random,
    *,
    explore: bool = True,
) -> Selector:
    """A selector for ``strategy``. ``explore=False`` (a long-lived choice: the WebSocket
    subscription) prefers measured providers, and ``latency-weighted`` then simply takes the
    fastest: one subscription cannot be spread, it should sit where heads come soonest."""
    if strategy == "fastest" or (strategy == "latency-weighted" and not explore):
        return Fastest(ids, estimate, rng, explore=explore)
    if strategy == "priority":
        return Priority(ids)
    if strategy == "round-robin":
        return RoundRobin(ids)
    if strategy == "latency-weighted":
        return LatencyWeighted(ids, estimate, rng)
    raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")


class Strategy:
    """A selector whose strategy can be switched while traffic flows."""

    def __init__(
        self,
        name: str,
        ids: Sequence[str],
        estimate: Estimate,
        rng: random.Random,
        *,
        explore: bool = True,
    ) -> None:
        self._ids = tuple(ids)
        self._estimate = estimate
        self._rng = rng
        self._explore = explore
        self._name = name
        self._selector = make_selector(name, self._ids, estimate, rng, explore=explore)

    @property
    def name(self) -> str:
        return self._name

    def switch(self, name: str) -> None:
        """Use ``name`` from the next request on; ValueError (and no change) if unknown."""
        self._selector = make_selector(
            name, self._ids, self._estimate, self._rng, explore=self._explore
        )
        self._name = name

    def order(self, method: str | None = None) -> list[str]:
        return self._selector.order(method)


class Tier:
    """Health tiers, best first (see the module docstring)."""

    HEALTHY: Final = 1
    LAGGING: Final = 2
    HALF_OPEN: Final = 3
    RATE_LIMITED: Final = 4


@dataclass
class Tiers:
    """Who to try, in order, and why the others are not tried."""

    candidates: list[str] = field(default_factory=list)
    tiers: dict[str, int] = field(default_factory=dict)
    """Each candidate's tier."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Not tried, with the cause: ``breaker open (4.2s left)``, ``rate-limited (0.8s left)``."""


def tiered(order: Sequence[str], pool: UpstreamPool) -> Tiers:
    """Apply the health tiers to a strategy's ``order``."""
    buckets: dict[int, list[str]] = {
        tier: [] for tier in (Tier.HEALTHY, Tier.LAGGING, Tier.HALF_OPEN, Tier.RATE_LIMITED)
    }
    result = Tiers()
    for uid in order:
        breaker = pool.breakers[uid]
        state = breaker.state
        if state is BreakerState.OPEN:
            result.skipped[uid] = f"breaker open ({breaker.open_remaining:.1f}s left)"
            continue
        if pool.rate_limited_for(uid) > 0:
            tier = Tier.RATE_LIMITED
        elif state is BreakerState.HALF_OPEN:
            tier = Tier.HALF_OPEN
        elif pool.is_lagging(uid):
            tier = Tier.LAGGING
        else:
            tier = Tier.HEALTHY
        buckets[tier].append(uid)
        result.tiers[uid] = tier
    usable = [uid for tier in (Tier.HEALTHY, Tier.LAGGING, Tier.HALF_OPEN) for uid in buckets[tier]]
    if usable:
        for uid in buckets[Tier.RATE_LIMITED]:
            del result.tiers[uid]
            result.skipped[uid] = f"rate-limited ({pool.rate_limited_for(uid):.1f}s left)"
        result.candidates = usable
    else:
        result.candidates = buckets[Tier.RATE_LIMITED]
    return result
