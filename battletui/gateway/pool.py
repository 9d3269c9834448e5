"""What the gateway knows about each upstream: breaker, latency, rate limit, head and lag.

Traffic and health probes both report here through :meth:`UpstreamPool.settle`, so a probe
counts for the breaker and the latency estimates exactly like a client request.

Latency, two figures per upstream:

* ``latency_ewma_ms`` — an EWMA (alpha = 0.3) of every answered attempt, for display;
* the *selection estimate* used by ``fastest`` and ``latency-weighted``: the median of the
  last :data:`SAMPLES` answered attempts, overall and per JSON-RPC method. A median cannot be
  moved by one slow sample (or one lucky fast one) while the rest hold steady, so a single
  hiccup never flips the order; a real change moves it within ``SAMPLES // 2 + 1`` requests.
  Per-method samples older than :data:`METHOD_SAMPLE_TTL` are forgotten: the method then falls
  back to the overall estimate (which health probes keep fresh), so a provider that was slow
  on one method gets re-measured now and then instead of being written off for good.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from battletui.gateway.breaker import CircuitBreaker
from battletui.gateway.jsonrpc import BLOCK_NUMBER, head_from
from battletui.gateway.listeners import notify
from battletui.gateway.outcome import Attempt, Verdict
from battletui.gateway.upstream_client import Upstream
from battletui.protocol.errors import format_seconds
from battletui.protocol.events import BreakerState, BreakerTransition, GatewayEvent
from battletui.scenario import BreakerSpec

__all__ = [
    "EWMA_ALPHA",
    "METHOD_SAMPLE_TTL",
    "SAMPLES",
    "LatencySamples",
    "UpstreamPool",
    "UpstreamStats",
]

EWMA_ALPHA: Final = 0.3
"""Weight of the newest latency sample in the displayed EWMA."""
SAMPLES: Final = 9
"""Latency samples the selection median is taken over (per upstream, and per method)."""
METHOD_SAMPLE_TTL: Final = 30.0
"""Seconds after which a per-method latency sample no longer counts."""
MAX_METHODS: Final = 32
"""Methods tracked per upstream; requests for others use the overall estimate (bounded
memory whatever method names clients invent)."""
_MAX_METHOD_NAME: Final = 64


def _empty() -> Mapping[str, float]:
    return MappingProxyType({})


HEAD_FRESH_FOR = 2.5
"""Seconds a reported head counts for lag (health probes report every 0.5 s by default)."""


@dataclass(frozen=True)
class UpstreamStats:
    """A snapshot of one upstream's counters."""

    served: int
    """Client requests this upstream answered."""
    failures: int
    """Failed attempts (client traffic and health probes) held against its breaker."""
    latency_ewma_ms: float | None
    """Smoothed latency of successful attempts; ``None`` until first measured."""
    rate_limited_for: float = 0.0
    """Seconds left of the Retry-After it answered with (0 when not rate-limited)."""
    head: int | None = None
    """Its latest block number as last seen (health probes, ``eth_blockNumber`` answers)."""
    lag: int | None = None
    """Blocks behind the best head of the providers whose breaker is not OPEN (None when
    unknown, or while its own breaker is OPEN)."""
    lagging: bool = False
    """More than ``lag_blocks`` behind: demoted below the providers that are not."""
    method_latency_ms: Mapping[str, float] = field(default_factory=_empty, hash=False)
    """Selection estimate (median of recent samples) per JSON-RPC method."""


class LatencySamples:
    """The last :data:`SAMPLES` latencies (ms) with the time they were taken."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=SAMPLES)

    def add(self, at: float, ms: float) -> None:
        self._samples.append((at, ms))

    def median(self, *, since: float | None = None) -> float | None:
        """Median of the samples (taken at or after ``since``); None without any."""
        values = [ms for at, ms in self._samples if since is None or at >= since]
        return statistics.median(values) if values else None


class _Entry:
    __slots__ = (
        "breaker",
        "failures",
        "head",
        "head_at",
        "lagging",
        "latency_ms",
        "methods",
        "overall",
        "rate_limited_until",
        "served",
        "upstream",
    )

    def __init__(self, upstream: Upstream, breaker: CircuitBreaker) -> None:
        self.upstream = upstream
        self.breaker = breaker
        self.served = 0
        self.failures = 0
        self.latency_ms: float | None = None
        self.overall = LatencySamples()
        self.methods: dict[str, LatencySamples] = {}
        self.rate_limited_until = 0.0
        self.head: int | None = None
        self.head_at: float | None = None
        """When ``head`` was last reported (``now`` clock); old samples say nothing."""
        self.lagging = False


class UpstreamPool:
    """Per-upstream state, in configuration order.

    ``clock`` drives the breakers and stamps events; ``now`` (real seconds) measures
    Retry-After benches and sample ages. ``seed`` seeds each breaker's open-time jitter
    (``None``: no jitter).
    """

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        spec: BreakerSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        now: Callable[[], float] = time.monotonic,
        lag_blocks: int = 3,
        seed: int | None = None,
        on_event: Callable[[GatewayEvent], None] | None = None,
    ) -> None:
        seen: set[str] = set()
        for upstream in upstreams:
            if upstream.id in seen:
                raise ValueError(f"duplicate upstream id {upstream.id!r}")
            seen.add(upstream.id)
        self._now = now
        self._clock = clock
        self._lag_blocks = lag_blocks
        self._on_event = on_event
        self._entries = {
            u.id: _Entry(
                u,
                CircuitBreaker(
                    u.id,
                    spec,
                    clock=clock,
                    on_transition=on_transition,
                    rng=None if seed is None else random.Random(f"gateway-breaker-{seed}-{u.id}"),
                ),
            )
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

    def _emit(self, kind: str, provider: str | None, detail: str) -> None:
        notify(self._on_event, GatewayEvent(self._clock(), kind, provider, detail))

    # -- latency -----------------------------------------------------------------------------

    def latency_ms(self, uid: str) -> float | None:
        """The displayed EWMA (None until measured)."""
        return self._entries[uid].latency_ms

    def estimate_ms(self, uid: str, method: str | None = None) -> float | None:
        """Selection estimate for ``method`` on ``uid``: its per-method median when it has
        recent samples, else the upstream's overall median; None when never measured."""
        entry = self._entries[uid]
        if method is not None:
            samples = entry.methods.get(method)
            if samples is not None:
                recent = samples.median(since=self._now() - METHOD_SAMPLE_TTL)
                if recent is not None:
                    return recent
        return entry.overall.median()

    def _measure(self, entry: _Entry, method: str | None, latency: float) -> None:
        sample = latency * 1000.0
        previous = entry.latency_ms
        entry.latency_ms = (
            sample if previous is None else previous + EWMA_ALPHA * (sample - previous)
        )
        now = self._now()
        entry.overall.add(now, sample)
        if method is None or len(method) > _MAX_METHOD_NAME:
            return
        samples = entry.methods.get(method)
        if samples is None:
            if len(entry.methods) >= MAX_METHODS:
                return
            samples = entry.methods[method] = LatencySamples()
        samples.add(now, sample)

    # -- rate limits -------------------------------------------------------------------------

    def rate_limited_for(self, uid: str) -> float:
        """Seconds left of a Retry-After the upstream asked for (0 when none)."""
        return max(0.0, self._entries[uid].rate_limited_until - self._now())

    # -- heads and lag -----------------------------------------------------------------------

    def note_head(self, uid: str, number: int) -> None:
        """The upstream says its latest block is ``number``: re-judge who is lagging when that
        is news (the breaker ticker re-judges every 100 ms anyway, for freshness)."""
        entry = self._entries[uid]
        changed = entry.head != number
        entry.head = number
        entry.head_at = self._now()
        if changed:
            self.update_lag()

    def _fresh_head(self, entry: _Entry) -> int | None:
        """``entry``'s head if it was reported lately and its breaker is not OPEN.

        A provider that has not been asked for a while (breaker open, benched after a 429)
        has an unknown lag, not a large one: judging it on its last answer would call it
        lagging just because time went on.
        """
        if entry.head is None or entry.head_at is None:
            return None
        if entry.breaker.state is BreakerState.OPEN:
            return None
        if self._now() - entry.head_at > HEAD_FRESH_FOR:
            return None
        return entry.head

    def _best_head(self) -> int | None:
        heads = [h for e in self._entries.values() if (h := self._fresh_head(e)) is not None]
        return max(heads) if heads else None

    def lag(self, uid: str) -> int | None:
        """Blocks ``uid`` is behind the best head of the non-OPEN upstreams; None if unknown
        (no head seen yet, or its breaker is OPEN: the head it last named is stale)."""
        return self._lag(self._entries[uid], self._best_head())

    def _lag(self, entry: _Entry, best: int | None) -> int | None:
        head = self._fresh_head(entry)
        if head is None or best is None:
            return None
        return max(0, best - head)

    @property
    def lagging(self) -> frozenset[str]:
        return frozenset(uid for uid, e in self._entries.items() if e.lagging)

    def is_lagging(self, uid: str) -> bool:
        return self._entries[uid].lagging

    def update_lag(self) -> None:
        """Re-judge every upstream whose breaker is not OPEN (an OPEN one's head is stale, its
        status is kept); emits ``lagging`` / ``caught-up`` on changes."""
        best = self._best_head()
        if best is None:
            return
        for uid, entry in self._entries.items():
            head = self._fresh_head(entry)
            if head is None:
                continue
            behind = best - head
            lagging = behind > self._lag_blocks
            if lagging == entry.lagging:
                continue
            entry.lagging = lagging
            if lagging:
                noun = "block" if behind == 1 else "blocks"
                self._emit("lagging", uid, f"{behind} {noun} behind (head {head}, best {best})")
            else:
                self._emit("caught-up", uid, f"head {head}, best {best}")

    # -- results -----------------------------------------------------------------------------

    def settle(
        self, uid: str, attempt: Attempt, *, traffic: bool, method: str | None = None
    ) -> None:
        """Report an attempt that held a breaker permit: judge it and update the numbers.

        ``method`` keys the per-method latency estimate (``batch`` for batches; None: overall
        only); an ``eth_blockNumber`` answer also notes the upstream's head."""
        entry = self._entries[uid]
        if attempt.verdict is Verdict.ANSWER:
            entry.breaker.record_success()
            self._measure(entry, method, attempt.latency)
            if traffic:
                entry.served += 1
            if method == BLOCK_NUMBER:
                head = head_from(attempt.answer)
                if head is not None:
                    self.note_head(uid, head)
        elif attempt.verdict is Verdict.FAILURE:
            entry.breaker.record_failure(attempt.reason)
            entry.failures += 1
        else:
            entry.breaker.release()
            wait = attempt.retry_after or 0.0
            now = self._now()
            if wait > 0:
                was_limited = entry.rate_limited_until > now
                entry.rate_limited_until = max(entry.rate_limited_until, now + wait)
                if not was_limited:
                    self._emit("rate-limited", uid, f"retry after {format_seconds(wait)}")

    def note_failure(self, uid: str, reason: str) -> None:
        """A failure outside an HTTP attempt (a WebSocket subscription that broke or could not
        be set up): held against the breaker and counted like any failed attempt."""
        entry = self._entries[uid]
        if entry.breaker.state is BreakerState.OPEN:
            return  # the breaker has decided already; nothing is held against it
        entry.breaker.record_failure(reason)
        entry.failures += 1

    def stats(self) -> Mapping[str, UpstreamStats]:
        since = self._now() - METHOD_SAMPLE_TTL
        best = self._best_head()
        result: dict[str, UpstreamStats] = {}
        for uid, e in self._entries.items():
            methods: dict[str, float] = {}
            for method, samples in e.methods.items():
                value = samples.median(since=since)
                if value is not None:
                    methods[method] = value
            result[uid] = UpstreamStats(
                served=e.served,
                failures=e.failures,
                latency_ewma_ms=e.latency_ms,
                rate_limited_for=self.rate_limited_for(uid),
                head=e.head,
                lag=self._lag(e, best),
                lagging=e.lagging,
                method_latency_ms=MappingProxyType(methods),
            )
        return MappingProxyType(result)
