"""How long a provider waits before answering: spec latency plus degrade, with seeded jitter."""

from __future__ import annotations

import random

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


class ErrorModel:
    """Decides which JSON-RPC requests fail with HTTP 500, at the spec's rate, from a seed."""

    def __init__(self, spec: ProviderSpec, seed: int) -> None:
        self._rate = spec.error_rate
        self._rng = random.Random(f"battletui/errors/{seed}/{spec.id}")

    def should_fail(self) -> bool:
        """True for about ``error_rate`` of calls."""
        return self._rate > 0 and self._rng.random() < self._rate
