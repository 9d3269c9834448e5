"""What the gateway knows about each upstream: its breaker, measured latency and counters.

Traffic and health probes both report here through :meth:`UpstreamPool.settle`, so a probe
counts for the breaker and the latency estimate exactly like a client request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from battletui.gateway.breaker import BreakerState, BreakerTransition, CircuitBreaker
from battletui.gateway.outcome import Attempt, Verdict
from battletui.gateway.upstream_client import Upstream
from battletui.scenario import BreakerSpec

__all__ = ["UpstreamPool", "UpstreamStats"]

EWMA_ALPHA: Final = 0.3
"""Weight of the newest latency sample: reacts within a few requests, smooths jitter."""


@dataclass(frozen=True)
class UpstreamStats:
    """A snapshot of one upstream's counters."""

    served: int
    """Client requests this upstream answered."""
    failures: int
    """Failed attempts (client traffic and health probes) held against its breaker."""
    latency_ewma_ms: float | None
    """Smoothed latency of successful attempts; ``None`` until first measured."""


class _Entry:
    __slots__ = ("breaker", "cooldown_until", "failures", "latency_ms", "served", "upstream")

    def __init__(self, upstream: Upstream, breaker: CircuitBreaker) -> None:
        self.upstream = upstream
        self.breaker = breaker
        self.served = 0
        self.failures = 0
        self.latency_ms: float | None = None
        self.cooldown_until = 0.0


class UpstreamPool:
    """Per-upstream state, in configuration order."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        spec: BreakerSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        seen: set[str] = set()
        for upstream in upstreams:
            if upstream.id in seen:
                raise ValueError(f"duplicate upstream id {upstream.id!r}")
            seen.add(upstream.id)
        self._now = now
        self._entries = {
            u.id: _Entry(u, CircuitBreaker(u.id, spec, clock=clock, on_transition=on_transition))
            for u in upstreams
        }
        self.breakers: Mapping[str, CircuitBreaker] = MappingProxyType(
            {uid: e.breaker for uid, e in self._entries.items()}
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def upstream(self, uid: str) -> Upstream:
        return self._entries[uid].upstream

    def latency_ms(self, uid: str) -> float | None:
        return self._entries[uid].latency_ms

    def cooling_down(self, uid: str) -> float:
        """Seconds left of a Retry-After the upstream asked for (0 when none)."""
        return max(0.0, self._entries[uid].cooldown_until - self._now())

    def settle(self, uid: str, attempt: Attempt, *, traffic: bool) -> None:
        """Report an attempt that held a breaker permit: judge it and update the numbers."""
        entry = self._entries[uid]
        if attempt.verdict is Verdict.ANSWER:
            entry.breaker.record_success()
            sample = attempt.latency * 1000.0
            previous = entry.latency_ms
            entry.latency_ms = (
                sample if previous is None else previous + EWMA_ALPHA * (sample - previous)
            )
            if traffic:
                entry.served += 1
        elif attempt.verdict is Verdict.FAILURE:
            entry.breaker.record_failure(attempt.reason)
            entry.failures += 1
        else:
            entry.breaker.release()
            if attempt.retry_after:
                entry.cooldown_until = max(entry.cooldown_until, self._now() + attempt.retry_after)

    def note_failure(self, uid: str, reason: str) -> None:
        """A failure outside an HTTP attempt (a WebSocket subscription that broke or could not
        be set up): held against the breaker and counted like any failed attempt."""
        entry = self._entries[uid]
        if entry.breaker.state is BreakerState.OPEN:
            return  # the breaker has decided already; nothing is held against it
        entry.breaker.record_failure(reason)
        entry.failures += 1

    def stats(self) -> Mapping[str, UpstreamStats]:
        return MappingProxyType(
            {
                uid: UpstreamStats(e.served, e.failures, e.latency_ms)
                for uid, e in self._entries.items()
            }
        )
