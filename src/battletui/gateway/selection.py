"""Selection strategies: in which order to try the providers for one request.

A strategy only orders; health tiers (closed first, then half-open, open never) are applied
on top by :func:`tiered` so both strategies treat breakers the same way.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from battletui.gateway.breaker import BreakerState, CircuitBreaker
from battletui.scenario import STRATEGIES

__all__ = ["Fastest", "RoundRobin", "Selector", "make_selector", "tiered"]


class Selector(Protocol):
    def order(self) -> list[str]:
        """All upstream ids, best first, for the next request."""
        ...


class RoundRobin:
    """Rotate the starting point per request so load spreads evenly."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = tuple(ids)
        self._next = 0

    def order(self) -> list[str]:
        if not self._ids:
            return []
        start = self._next
        self._next = (start + 1) % len(self._ids)
        return [*self._ids[start:], *self._ids[:start]]


class Fastest:
    """Lowest measured latency first; unmeasured providers first of all, so they get measured.

    Ties (several unmeasured, equal estimates) are broken by the seeded random source so a run
    is reproducible yet does not always favour the first configured provider. With
    ``explore=False`` unmeasured providers come last instead: for a long-lived choice (the
    WebSocket subscription) a provider known to be fast beats one not yet measured.
    """

    def __init__(
        self,
        ids: Sequence[str],
        latency_ms: Callable[[str], float | None],
        rng: random.Random,
        *,
        explore: bool = True,
    ) -> None:
        self._ids = tuple(ids)
        self._latency_ms = latency_ms
        self._rng = rng
        self._explore = explore

    def order(self) -> list[str]:
        keyed: list[tuple[bool, float, float, str]] = []
        for uid in self._ids:
            latency = self._latency_ms(uid)
            measured = latency is not None
            first = measured if self._explore else not measured
            keyed.append((first, latency or 0.0, self._rng.random(), uid))
        keyed.sort()
        return [uid for *_, uid in keyed]


def make_selector(
    strategy: str,
    ids: Sequence[str],
    latency_ms: Callable[[str], float | None],
    rng: random.Random,
    *,
    explore: bool = True,
) -> Selector:
    if strategy == "fastest":
        return Fastest(ids, latency_ms, rng, explore=explore)
    if strategy == "round-robin":
        return RoundRobin(ids)
    raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")


def tiered(
    order: Sequence[str], breakers: Mapping[str, CircuitBreaker]
) -> tuple[list[str], list[str]]:
    """Candidates (CLOSED in order, then HALF-OPEN in order) and the OPEN ones skipped."""
    closed: list[str] = []
    half_open: list[str] = []
    skipped: list[str] = []
    for uid in order:
        state = breakers[uid].state
        if state is BreakerState.CLOSED:
            closed.append(uid)
        elif state is BreakerState.HALF_OPEN:
            half_open.append(uid)
        else:
            skipped.append(uid)
    return closed + half_open, skipped
