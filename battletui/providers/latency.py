"""How long a provider waits before answering (spec latency plus degrade, with seeded jitter),
which requests fail, and how fast requests arrive."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from battletui.scenario import ProviderSpec


class DelayModel:
    """Draws per-request delays; the same seed and provider id give the same sequence."""

    def __init__(self, spec: ProviderSpec, seed: int) -> None:
        self._spec = spec
        self._rng = random.Random(f"battletui/latency/{seed}/{spec.id}")

    def draw(self, added_latency: float, added_jitter: float) -> float:
        """Seconds to wait: base and added latency, each with its uniform jitter, never < 0."""
        delay = self._spec.latency + added_latency
        if self._spec.jitter > 0:
            delay += self._rng.uniform(-self._spec.jitter, self._spec.jitter)
        if added_jitter > 0:
            delay += self._rng.uniform(-added_jitter, added_jitter)
        return max(0.0, delay)

    def draw_added(self, latency: float, jitter: float) -> float:
        """One draw of an added latency alone (a per-method degrade), never < 0."""
        if jitter > 0:
            latency += self._rng.uniform(-jitter, jitter)
        return max(0.0, latency)


class ErrorModel:
    """Decides which JSON-RPC requests fail with HTTP 500, at the spec's rate, from a seed."""

    def __init__(self, spec: ProviderSpec, seed: int) -> None:
        self._rate = spec.error_rate
        self._rng = random.Random(f"battletui/errors/{seed}/{spec.id}")

    def should_fail(self) -> bool:
        """True for about ``error_rate`` of calls."""
        return self._rate > 0 and self._rng.random() < self._rate


class RateMeter:
    """Requests per second over about the last second, in O(1) memory.

    Two one-second buckets: the current one counts in full, the previous one by the share of
    it that still lies within the last second.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._second = math.floor(clock())
        self._current = 0
        self._previous = 0

    def hit(self) -> None:
        """Count one request now."""
        self._roll(self._clock())
        self._current += 1

    def rate(self) -> float:
        """Requests in the last second, about."""
        now = self._clock()
        self._roll(now)
        return self._previous * (1.0 - (now - self._second)) + self._current

    def _roll(self, now: float) -> None:
        second = math.floor(now)
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._current = 0
            self._second = second
