"""The engine's view of an HTTP load sent by several worker processes.

Each worker measures its own requests (``HttpMetrics``) and sends, over its socket to the
engine, two things: a ``LiveSecond`` a few times a second (its seconds so far, cumulative)
and each ``IntervalRecord`` once the second has closed. Here they become one session:

* a second is *complete* once every worker has sent it or a later one (workers send their
  seconds in order, so nothing more can come for it); the workers' records are then merged
  losslessly (``interval_codec.merge_records``: counts summed, HdrHistograms added) and
  handled exactly as one process's closed second was — journaled through ``on_interval``,
  folded into the totals, the over-time series and the instrument's tally;
* the live window (last few seconds, the one in progress included) and the running totals
  add the workers' latest ``LiveSecond``s to what is complete, counting each worker's second
  once: its record when it has sent one, else its latest live figures.

This is the one reading surface of the HTTP load (window, totals, series, instrument view):
the snapshot builder does not care how many processes sent the load.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from battletui.metrics.http import HttpWindow, IntervalRecord, IntervalSummary, LiveSecond
from battletui.metrics.instrument import (
    LIVE_SECONDS,
    InstrumentSecond,
    InstrumentSummary,
    InstrumentTally,
    InstrumentView,
    is_behind,
)
from battletui.metrics.interval_codec import merge_records
from battletui.metrics.latency import INTERVAL_FIGURES, LatencyStats, bars_of, new_histogram
from battletui.metrics.recent import NOW_SECONDS, RecentHttp

__all__ = ["MergedHttpMetrics", "instrument_second"]


def instrument_second(record: IntervalRecord) -> InstrumentSecond:
    return InstrumentSecond(
        index=record.index,
        due=record.due,
        sent=record.sent,
        unsent=record.unsent,
        clipped=record.clipped,
        slip=record.slip,
        loop_lag=record.loop_lag,
        cpu_percent=record.cpu_percent,
    )


def _empty(index: int) -> IntervalRecord:
    return IntervalRecord(
        index=index,
        requests=0,
        ok=0,
        errors={},
        upstreams={},
        failovers=0,
        failed_over=0,
        corrected=new_histogram(),
        uncorrected=new_histogram(),
        failover_latency=None,
    )


@dataclass
class _Open:
    """Running figures of the seconds not complete yet."""

    requests: int = 0
    ok: int = 0
    unsent: int = 0
    failovers: int = 0
    failed_over: int = 0


class MergedHttpMetrics:
    """Fed by ``live`` and ``closed`` from ``workers`` workers; read by the snapshots.

    With no worker (``battletui lab``: the load comes from outside) every second is
    complete, and empty, once it has passed."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        workers: int,
        start: float | None = None,
        window_intervals: int = 5,
        share_intervals: int = 2,
        history: int = 600,
        on_interval: Callable[[IntervalRecord], None] | None = None,
    ) -> None:
        if workers < 0:
            raise ValueError("a number of workers, 0 or more")
        self._clock = clock
        self.start = clock() if start is None else start
        self.workers = workers
        self._window = window_intervals
        self._share_window = share_intervals
        self._on_interval = on_interval
        self._lives: dict[int, dict[int, LiveSecond]] = {}
        """index -> worker -> its latest live figures of that second (recent seconds only)."""
        self._records: dict[int, dict[int, IntervalRecord]] = {}
        """index -> worker -> its closed record, until the second is complete."""
        self._reported = [-1] * workers
        """Per worker: the newest second it has sent a record of."""
        self._complete = -1
        """Every second up to this one has been merged and handled."""
        self.series: deque[IntervalSummary] = deque(maxlen=history)
        self._recent: deque[IntervalRecord] = deque(maxlen=LIVE_SECONDS)
        self._last: deque[IntervalRecord] = deque(maxlen=NOW_SECONDS)
        self._last_figures: tuple[int, RecentHttp] | None = None
        self._requests = 0
        self._ok = 0
        self._failovers = 0
        self._failed_over = 0
        self._errors: Counter[str] = Counter()
        self._upstreams: Counter[str] = Counter()
        self._answers: Counter[str] = Counter()
        self.corrected = new_histogram()
        """Corrected latency of every complete second."""
        self.failover_latency = new_histogram()
        self.instrument = InstrumentTally()
        self._total: LatencyStats | None = None
        self._so_far: InstrumentSummary | None = None

    # -- feeding -------------------------------------------------------------------------------

    def live(self, worker: int, second: LiveSecond) -> None:
        """Kept even for a complete second: its last live figures (sent after its record)
        are the window's; the totals count its record."""
        self._lives.setdefault(second.index, {})[worker] = second

    def closed(self, worker: int, record: IntervalRecord) -> None:
        if record.index <= self._complete:
            return  # pragma: no cover - a worker never repeats a second
        self._records.setdefault(record.index, {})[worker] = record
        self._reported[worker] = max(self._reported[worker], record.index)
        self._advance(min(self._reported))

    def flush(self) -> None:
        """Handle every second received (the workers have stopped: nothing more comes)."""
        newest = max([*self._records, *self._lives, self._complete])
        if self.workers == 0:
            newest = max(newest, self._index_now())
        self._advance(newest)

    def tick(self) -> None:
        """Drop live figures older than the window (memory stays flat); with no worker,
        every second that has passed is complete."""
        if self.workers == 0:
            self._advance(self._index_now() - 1)
        oldest = self._index_now() - self._window - 1
        for index in [i for i in self._lives if i < oldest and i <= self._complete]:
            del self._lives[index]

    def _advance(self, through: int) -> None:
        for index in range(self._complete + 1, through + 1):
            records = list(self._records.pop(index, {}).values())
            merged = merge_records(records) if records else _empty(index)
            self._handle(merged)
            self._complete = index

    def _handle(self, record: IntervalRecord) -> None:
        self._total = self._so_far = None
        self._requests += record.requests
        self._ok += record.ok
        self._failovers += record.failovers
        self._failed_over += record.failed_over
        self._errors.update(record.errors)
        self._upstreams.update(record.upstreams)
        self._answers.update(record.answers)
        self.corrected.add(record.corrected)
        if record.failover_latency is not None:
            self.failover_latency.add(record.failover_latency)
        self.series.append(
            IntervalSummary(
                index=record.index,
                requests=record.requests,
                ok=record.ok,
                errors=sum(record.errors.values()),
                p95_ms=LatencyStats.of(record.corrected).p95,
            )
        )
        self.instrument.add(instrument_second(record))
        self._recent.append(record)
        self._last.append(record)
        if self._on_interval is not None:
            self._on_interval(record)

    # -- what is not complete yet --------------------------------------------------------------

    def _pending_seconds(self) -> Iterable[tuple[int, int, IntervalRecord | LiveSecond]]:
        """(index, worker, figures) for each worker's second not complete yet, once."""
        for index in sorted(set(self._records) | set(self._lives)):
            if index <= self._complete:
                continue
            records = self._records.get(index, {})
            lives = self._lives.get(index, {})
            for worker in set(records) | set(lives):
                yield index, worker, records.get(worker) or lives[worker]

    def _open(self) -> tuple[_Open, Counter[str], Counter[str]]:
        totals, errors, upstreams = _Open(), Counter[str](), Counter[str]()
        for _, _, figures in self._pending_seconds():
            totals.requests += figures.requests
            totals.ok += figures.ok
            totals.unsent += figures.unsent
            totals.failovers += figures.failovers
            totals.failed_over += figures.failed_over
            errors.update(figures.errors)
            upstreams.update(figures.upstreams)
        return totals, errors, upstreams

    # -- reading -------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        return self._requests + self._open()[0].requests

    @property
    def ok(self) -> int:
        return self._ok + self._open()[0].ok

    @property
    def failovers(self) -> int:
        return self._failovers + self._open()[0].failovers

    @property
    def failed_over(self) -> int:
        return self._failed_over + self._open()[0].failed_over

    @property
    def errors(self) -> Counter[str]:
        return self._errors + self._open()[1]

    @property
    def upstreams(self) -> Counter[str]:
        return self._upstreams + self._open()[2]

    @property
    def answers(self) -> Counter[str]:
        """Judged answers so far (``answers.py`` keys), the seconds in progress included."""
        total = Counter(self._answers)
        for _, _, figures in self._pending_seconds():
            total.update(figures.answers)
        return total

    @property
    def success_rate(self) -> float | None:
        requests = self.requests
        return self.ok / requests if requests else None

    def _index_now(self) -> int:
        return max(0, int(self._clock() - self.start))

    def window(self) -> HttpWindow:
        """The last ``window_intervals`` seconds, the one in progress included, as the
        workers' live figures say (every second of the window, complete or not)."""
        now = self._clock()
        newest = self._index_now()
        first = newest - self._window + 1
        merged = new_histogram(INTERVAL_FIGURES)
        requests = ok = unsent = 0
        upstreams: Counter[str] = Counter()
        seen: list[int] = []
        for index in range(first, newest + 1):
            for second in self._lives.get(index, {}).values():
                merged.add(second.histogram)
                requests += second.requests
                ok += second.ok
                unsent += second.unsent
                if index > newest - self._share_window:
                    upstreams.update(second.upstreams)
            if index in self._lives:
                seen.append(index)
        span = max(0.0, now - (self.start + seen[0])) if seen else 0.0
        served = sum(upstreams.values())
        return HttpWindow(
            seconds=span,
            requests=requests,
            ok=ok,
            rate=(requests - unsent) / span if span > 0 else 0.0,
            success_rate=ok / requests if requests else None,
            latency=LatencyStats.of(merged),
            bars=bars_of(merged),
            upstream_share={k: v / served for k, v in upstreams.items()} if served else {},
        )

    def instrument_view(self) -> InstrumentView:
        """The generator's own state: the last complete seconds, and the session so far."""
        slip = new_histogram(INTERVAL_FIGURES)
        lag = new_histogram(INTERVAL_FIGURES)
        due = sent = 0
        for record in self._recent:
            if record.slip is not None:
                slip.add(record.slip)
            if record.loop_lag is not None:
                lag.add(record.loop_lag)
            due += record.due
            sent += record.sent
        slip_stats, lag_stats = LatencyStats.of(slip), LatencyStats.of(lag)
        tally = self.instrument
        if self._so_far is None:
            self._so_far = tally.summary(final=False)
        summary = self._so_far
        since: float | None = None
        if is_behind(due, sent, slip) and self._recent:
            since = float(self._recent[0].index if tally.run_start is None else tally.run_start)
        return InstrumentView(
            behind=since is not None,
            behind_since=since,
            saturated=summary.saturated,
            behind_from=None if summary.behind_from is None else float(summary.behind_from),
            slip_p99_ms=slip_stats.p99 if slip_stats.count else None,
            loop_lag_ms=lag_stats.p99 if lag_stats.count else None,
            cpu_percent=self._recent[-1].cpu_percent if self._recent else None,
            unsent=tally.unsent + self._open()[0].unsent,
            clipped=tally.clipped,
        )

    @property
    def complete(self) -> int:
        """Every second up to this one is in (-1: none yet)."""
        return self._complete

    def recent(self) -> RecentHttp:
        """The last ``NOW_SECONDS`` complete seconds (built once per new second)."""
        if self._last_figures is None or self._last_figures[0] != self._complete:
            self._last_figures = (self._complete, RecentHttp.of(self._last))
        return self._last_figures[1]

    def total_latency(self) -> LatencyStats:
        """Corrected latency of the session so far (up to the last complete second)."""
        if self._total is None:
            self._total = LatencyStats.of(self.corrected)
        return self._total
