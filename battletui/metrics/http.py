"""What the HTTP workload measured: counts, errors by kind, latency, who served what.

Numbers are kept per one-second interval (a short ring, for the live view and the
over-time series) and as session totals (for the report). Memory is flat: the ring and
the series have fixed lengths and the histograms fixed sizes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from battletui.metrics.latency import (
    INTERVAL_FIGURES,
    HistogramBars,
    LatencyStats,
    bars_of,
    new_histogram,
    record_seconds,
)


@dataclass(frozen=True)
class RequestResult:
    """One request as the client saw it. Times are on the workload's monotonic clock.

    ``intended`` is when the open-model schedule said to send it; ``sent`` when it really went
    out. Latency from ``intended`` is the coordinated-omission-corrected figure.
    """

    method: str
    intended: float
    sent: float
    done: float
    ok: bool
    error_kind: str | None = None
    upstream: str | None = None
    failovers: int = 0

    @property
    def corrected(self) -> float:
        return self.done - self.intended

    @property
    def uncorrected(self) -> float:
        return self.done - self.sent


@dataclass
class _Interval:
    index: int
    requests: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    upstreams: Counter[str] = field(default_factory=Counter)
    failovers: int = 0
    failed_over: int = 0
    histogram: HdrHistogram = field(default_factory=lambda: new_histogram(INTERVAL_FIGURES))
    """Small and kept a few seconds, for the live window."""
    exact: _Exact | None = field(default_factory=lambda: _Exact())
    """Full-precision histograms of this second; handed over when it closes, then dropped."""
    closed: bool = False


class _Exact:
    """The full-precision histograms of one open interval."""

    def __init__(self) -> None:
        self.corrected = new_histogram()
        self.uncorrected = new_histogram()
        self.failover_latency: HdrHistogram | None = None


@dataclass(frozen=True)
class IntervalRecord:
    """A closed one-second interval with everything the journal keeps of it.

    Totals are the sum of these, so a session can be rebuilt from its journal alone.
    """

    index: int
    requests: int
    ok: int
    errors: dict[str, int]
    upstreams: dict[str, int]
    failovers: int
    failed_over: int
    corrected: HdrHistogram
    uncorrected: HdrHistogram
    failover_latency: HdrHistogram | None


@dataclass(frozen=True)
class IntervalSummary:
    """A closed one-second interval, kept for the over-time series."""

    index: int
    requests: int
    ok: int
    errors: int
    p95_ms: float


@dataclass(frozen=True)
class HttpWindow:
    """The last few seconds, for the live screen."""

    seconds: float
    requests: int
    ok: int
    rate: float
    success_rate: float | None
    latency: LatencyStats
    bars: HistogramBars
    upstream_share: Mapping[str, float]
    """Who answered, over the last ``share_intervals`` seconds only, so a shift shows fast."""


class HttpMetrics:
    """Accumulates ``RequestResult``s; ``window()`` and ``totals`` read them back."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        start: float | None = None,
        window_intervals: int = 5,
        share_intervals: int = 2,
        history: int = 600,
        on_interval: Callable[[IntervalRecord], None] | None = None,
    ) -> None:
        self._clock = clock
        self.start = clock() if start is None else start
        self._window = window_intervals
        self._share_window = share_intervals
        self._ring: deque[_Interval] = deque(maxlen=window_intervals + 1)
        self.series: deque[IntervalSummary] = deque(maxlen=history)
        self._on_interval = on_interval
        self.requests = 0
        self.ok = 0
        self.failovers = 0
        self.errors: Counter[str] = Counter()
        self.upstreams: Counter[str] = Counter()
        self.corrected = new_histogram()
        """Corrected latency of every closed second (each one folded in as it closes)."""
        self.failed_over = 0
        """Requests that were answered only after the gateway retried another provider."""
        self.failover_latency = new_histogram()
        """Corrected latency of those requests (closed seconds), as the client measured it."""

    # -- recording -------------------------------------------------------------------------

    def record(self, result: RequestResult) -> None:
        interval = self._interval_at(result.done)
        exact = interval.exact or _Exact()  # after flush() nothing more is journaled
        interval.requests += 1
        self.requests += 1
        self.failovers += result.failovers
        interval.failovers += result.failovers
        if result.failovers:
            self.failed_over += 1
            interval.failed_over += 1
            if exact.failover_latency is None:
                exact.failover_latency = new_histogram()
            record_seconds(exact.failover_latency, result.corrected)
        if result.ok:
            interval.ok += 1
            self.ok += 1
        else:
            kind = result.error_kind or "unknown"
            interval.errors[kind] += 1
            self.errors[kind] += 1
        if result.upstream:
            interval.upstreams[result.upstream] += 1
            self.upstreams[result.upstream] += 1
        record_seconds(interval.histogram, result.corrected)
        record_seconds(exact.corrected, result.corrected)
        record_seconds(exact.uncorrected, result.uncorrected)

    def tick(self) -> None:
        """Close intervals that have ended even when no request completes (a full outage)."""
        self._interval_at(self._clock())

    def flush(self) -> None:
        """Close the interval in progress (the session is ending): nothing may stay unsaid."""
        if self._ring and not self._ring[-1].closed:
            self._close(self._ring[-1])

    def _interval_at(self, when: float) -> _Interval:
        index = max(0, int(when - self.start))
        if self._ring and self._ring[-1].index >= index:
            # A late answer from a second already handed over counts in the newest one, so
            # that every request is in exactly one journaled interval.
            return self._ring[-1]
        last = self._ring[-1].index if self._ring else index - 1
        for missing in range(last + 1, index + 1):
            if self._ring:
                self._close(self._ring[-1])
            self._ring.append(_Interval(index=missing))
        return self._ring[-1]

    def _close(self, interval: _Interval) -> None:
        if interval.closed:
            return
        interval.closed = True
        exact = interval.exact or _Exact()
        interval.exact = None
        self.corrected.add(exact.corrected)
        if exact.failover_latency is not None:
            self.failover_latency.add(exact.failover_latency)
        summary = IntervalSummary(
            index=interval.index,
            requests=interval.requests,
            ok=interval.ok,
            errors=sum(interval.errors.values()),
            p95_ms=LatencyStats.of(exact.corrected).p95,
        )
        self.series.append(summary)
        if self._on_interval is not None:
            self._on_interval(
                IntervalRecord(
                    index=interval.index,
                    requests=interval.requests,
                    ok=interval.ok,
                    errors=dict(interval.errors),
                    upstreams=dict(interval.upstreams),
                    failovers=interval.failovers,
                    failed_over=interval.failed_over,
                    corrected=exact.corrected,
                    uncorrected=exact.uncorrected,
                    failover_latency=exact.failover_latency,
                )
            )

    # -- reading ---------------------------------------------------------------------------

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None

    def window(self) -> HttpWindow:
        """The last ``window_intervals`` seconds, the interval in progress included."""
        now = self._clock()
        self._interval_at(now)
        intervals = list(self._ring)[-self._window :]
        merged = new_histogram(INTERVAL_FIGURES)
        requests = ok = 0
        upstreams: Counter[str] = Counter()
        for interval in intervals:
            merged.add(interval.histogram)
            requests += interval.requests
            ok += interval.ok
        for interval in intervals[-self._share_window :]:
            upstreams.update(interval.upstreams)
        span = 0.0
        if intervals:
            span = max(0.0, now - (self.start + intervals[0].index))
        served = sum(upstreams.values())
        return HttpWindow(
            seconds=span,
            requests=requests,
            ok=ok,
            rate=requests / span if span > 0 else 0.0,
            success_rate=ok / requests if requests else None,
            latency=LatencyStats.of(merged),
            bars=bars_of(merged),
            upstream_share={k: v / served for k, v in upstreams.items()} if served else {},
        )

    def total_latency(self) -> LatencyStats:
        """Corrected latency of the session so far (up to the last closed second).

        The uncorrected figure lives in the journal's intervals; the report rebuilds it."""
        return LatencyStats.of(self.corrected)
