"""What the HTTP workload measured: counts, errors by kind, latency, who served what.

Numbers are kept per one-second interval (a short ring, for the live view and the
over-time series) and as session totals (for the report). Memory is flat: the ring and
the series have fixed lengths and the histograms fixed sizes.

The generator's own figures are kept here too (see ``instrument.py``): requests due and sent
each second, how late each left (slip), event-loop lag and CPU, latencies clipped at the
histogram's ceiling. A request the schedule could not send is *unsent*: it counts as a
request that failed with the error kind ``unsent`` (so success rates include it), and it has
no latency, so it enters no latency histogram.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from battletui.metrics.answers import answer_keys
from battletui.metrics.instrument import (
    InstrumentSecond,
    InstrumentTally,
)
from battletui.metrics.latency import (
    INTERVAL_FIGURES,
    HistogramBars,
    LatencyStats,
    decode_histogram,
    new_histogram,
    record_seconds,
)

UNSENT = "unsent"
"""Error kind of a request that was due but never sent."""
RING_SECONDS = 6
"""Seconds a worker keeps at hand: the one in progress and the last ones ``live_seconds``
may send."""


@dataclass(slots=True)
class RequestResult:
    """One request as the client saw it. Times are on the workload's monotonic clock.

    Not frozen: one is made per request, and a frozen dataclass's ``__init__`` costs twice.

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
    answers: Counter[str] = field(default_factory=Counter)
    """Judged answers (``answers.py`` keys)."""
    histogram: HdrHistogram = field(default_factory=lambda: new_histogram(INTERVAL_FIGURES))
    """Small and kept a few seconds, for the live window."""
    exact: _Exact | None = field(default_factory=lambda: _Exact())
    """Full-precision histograms of this second; handed over when it closes, then dropped."""
    closed: bool = False
    due: int = 0
    sent: int = 0
    unsent: int = 0
    clipped: int = 0
    slip: HdrHistogram = field(default_factory=lambda: new_histogram(INTERVAL_FIGURES))
    loop_lag: HdrHistogram = field(default_factory=lambda: new_histogram(INTERVAL_FIGURES))
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def cpu_percent(self) -> float | None:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else None

    def instrument(self) -> InstrumentSecond:
        return InstrumentSecond(
            index=self.index,
            due=self.due,
            sent=self.sent,
            unsent=self.unsent,
            clipped=self.clipped,
            slip=self.slip,
            loop_lag=self.loop_lag,
            cpu_percent=self.cpu_percent,
        )


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
    due: int = 0
    """Requests whose intended send time fell in this second (as the schedule reached them)."""
    sent: int = 0
    unsent: int = 0
    """Due but never sent (in-flight cap, or still due when the load stopped)."""
    clipped: int = 0
    """Latencies above the histogram's ceiling, recorded at the ceiling."""
    slip: HdrHistogram | None = None
    """How late requests left against their intended time (µs)."""
    loop_lag: HdrHistogram | None = None
    """How late the event loop woke a periodic timer (µs)."""
    cpu_percent: float | None = None
    """Process CPU in this second, % of one core."""
    answers: dict[str, int] = field(default_factory=dict)
    """Answers judged against the canonical chain in this second (``answers.py`` keys)."""


@dataclass(frozen=True)
class LiveSecond:
    """One worker's second so far (cumulative: a later one for the same index replaces it),
    for the engine's live view. The journal gets the whole ``IntervalRecord`` once the second
    closes; this is what the screen can show before that."""

    index: int
    requests: int
    ok: int
    unsent: int
    errors: dict[str, int]
    upstreams: dict[str, int]
    failovers: int
    failed_over: int
    histogram: HdrHistogram
    """Corrected latency at ``INTERVAL_FIGURES`` (the live window's precision)."""
    answers: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "requests": self.requests,
            "ok": self.ok,
            "unsent": self.unsent,
            "errors": self.errors,
            "upstreams": self.upstreams,
            "failovers": self.failovers,
            "failed_over": self.failed_over,
            "histogram": self.histogram.encode().decode("ascii"),
            "answers": self.answers,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveSecond:
        return cls(
            index=int(data["index"]),
            requests=int(data["requests"]),
            ok=int(data["ok"]),
            unsent=int(data["unsent"]),
            errors={str(k): int(v) for k, v in dict(data["errors"]).items()},
            upstreams={str(k): int(v) for k, v in dict(data["upstreams"]).items()},
            failovers=int(data["failovers"]),
            failed_over=int(data["failed_over"]),
            histogram=decode_histogram(str(data["histogram"])),
            answers={str(k): int(v) for k, v in dict(data.get("answers") or {}).items()},
        )


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
    """One worker's measurements: each second goes to the engine as it stands
    (``live_seconds``) and once closed (``on_interval``); the engine's ``MergedHttpMetrics``
    is what reads them back for the screen."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        start: float | None = None,
        history: int = 600,
        on_interval: Callable[[IntervalRecord], None] | None = None,
    ) -> None:
        self._clock = clock
        self.start = clock() if start is None else start
        self._ring: deque[_Interval] = deque(maxlen=RING_SECONDS)
        self.series: deque[IntervalSummary] = deque(maxlen=history)
        self._on_interval = on_interval
        self.requests = 0
        self.ok = 0
        self.failovers = 0
        self.errors: Counter[str] = Counter()
        self.upstreams: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        """Answers judged against the canonical chain (``answers.py`` keys)."""
        self.corrected = new_histogram()
        """Corrected latency of every closed second (each one folded in as it closes)."""
        self.failed_over = 0
        """Requests that were answered only after the gateway retried another provider."""
        self.failover_latency = new_histogram()
        """Corrected latency of those requests (closed seconds), as the client measured it."""
        self.instrument = InstrumentTally()
        """The generator's own figures over the closed seconds."""

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
        if record_seconds(exact.corrected, result.corrected):
            interval.clipped += 1
        record_seconds(exact.uncorrected, result.uncorrected)

    def answer(self, method: str, upstream: str | None, verdict: str) -> None:
        """An answer was judged against the canonical chain (``ok``, ``stale``, ``wrong``)."""
        interval = self._interval_at(self._clock())
        for key in answer_keys(verdict, method, upstream):
            interval.answers[key] += 1
            self.answers[key] += 1

    def scheduled(self, intended: float) -> None:
        """The schedule reached a request due at ``intended`` and launched it."""
        interval = self._interval_at(intended)
        interval.due += 1
        interval.sent += 1

    def unsent(self, count: int = 1, *, intended: float | None = None) -> None:
        """``count`` requests were due (at ``intended``, else now) but never sent."""
        if count <= 0:
            return
        interval = self._interval_at(self._clock() if intended is None else intended)
        interval.due += count
        interval.unsent += count
        interval.requests += count
        interval.errors[UNSENT] += count
        self.requests += count
        self.errors[UNSENT] += count

    def left(self, intended: float, sent: float) -> None:
        """A request really went out at ``sent``: its slip counts in the second it left."""
        interval = self._interval_at(sent)
        record_seconds(interval.slip, sent - intended)

    def loop_sample(self, lag: float, cpu_seconds: float, wall_seconds: float) -> None:
        """One wake-up of the loop monitor: how late it woke, and CPU used since the last."""
        interval = self._interval_at(self._clock())
        record_seconds(interval.loop_lag, lag)
        interval.cpu_seconds += cpu_seconds
        interval.wall_seconds += wall_seconds

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
            p95_ms=LatencyStats.of(interval.histogram).p95,  # the report reads the full one
        )
        self.series.append(summary)
        self.instrument.add(interval.instrument())
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
                    due=interval.due,
                    sent=interval.sent,
                    unsent=interval.unsent,
                    clipped=interval.clipped,
                    slip=interval.slip,
                    loop_lag=interval.loop_lag,
                    cpu_percent=interval.cpu_percent,
                    answers=dict(interval.answers),
                )
            )

    def live_seconds(self, count: int = 2) -> list[LiveSecond]:
        """The newest ``count`` seconds as they stand (the one in progress included)."""
        self._interval_at(self._clock())
        return [
            LiveSecond(
                index=i.index,
                requests=i.requests,
                ok=i.ok,
                unsent=i.unsent,
                errors=dict(i.errors),
                upstreams=dict(i.upstreams),
                failovers=i.failovers,
                failed_over=i.failed_over,
                histogram=i.histogram,
                answers=dict(i.answers),
            )
            for i in list(self._ring)[-count:]
        ]

    # -- reading ---------------------------------------------------------------------------

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None
