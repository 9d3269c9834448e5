"""The load generator judging itself: is it keeping its schedule, or measuring its own stalls?

An open-model generator that falls behind (its event loop busy, its CPU spent) sends late, and
the latency it then records is its own delay, not the gateway's. Every second it counts the
requests that were due and those it sent, and records how late each one left (its *slip*).
A second is *behind* when its slip p99 is above ``SLIP_LIMIT_MS`` (with ``MIN_LATE`` requests
that late at least) or it sent fewer than ``SENT_FLOOR`` of the requests due; the session is
*saturated* by the same test over all of it, and its verdict is then inconclusive. The live
screen and the rebuilt report both go through ``InstrumentTally``, so what the screen said and
what the report says cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from battletui.metrics.latency import INTERVAL_FIGURES, LatencyStats, new_histogram

SLIP_LIMIT_MS = 5.0
"""Slip p99 above this and the generator is no longer sending on time."""
SENT_FLOOR = 0.99
"""Sending fewer than this share of the requests due is falling behind too."""
LIVE_SECONDS = 5
"""The live view judges the last few closed seconds together (one second is too few to say)."""
MIN_LATE = 3
"""A slip p99 over the limit counts only when at least this many requests were that late: the
p99 of a short or slow run is its one worst request, and one hiccup is not falling behind."""


def late_count(slip: HdrHistogram | None) -> int:
    """Requests that left more than ``SLIP_LIMIT_MS`` late (to the histogram's resolution)."""
    if slip is None or not slip.get_total_count():
        return 0
    limit = slip.get_counts_array_index(int(SLIP_LIMIT_MS * 1000))
    return int(slip.get_total_count() - sum(slip.counts[: limit + 1]))


def is_behind(due: int, sent: int, slip: HdrHistogram | None) -> bool:
    """The one test, for a second and for a session alike; nothing due is never behind.

    Slip p99 above the limit means more than 1 % of the requests left later than it; counted
    straight from the histogram (it runs every second and on every live snapshot)."""
    if due <= 0:
        return False
    if sent < SENT_FLOOR * due:
        return True
    if slip is None:
        return False
    total, late = int(slip.get_total_count()), late_count(slip)
    p99_rank = max(1, int(0.99 * total + 0.5))  # as HdrHistogram ranks its percentiles
    return late >= MIN_LATE and total - late < p99_rank


@dataclass(frozen=True)
class InstrumentSecond:
    """One closed second of the generator's own figures (one journal interval)."""

    index: int
    due: int = 0
    sent: int = 0
    unsent: int = 0
    clipped: int = 0
    slip: HdrHistogram | None = None
    """How late requests left against their intended time, in microseconds."""
    loop_lag: HdrHistogram | None = None
    """How late the event loop woke a 50 ms timer, in microseconds."""
    cpu_percent: float | None = None
    """Process CPU over the second, in % of one core."""

    @property
    def behind(self) -> bool:
        return is_behind(self.due, self.sent, self.slip)


@dataclass(frozen=True)
class InstrumentSummary:
    """The generator over a whole session. ``measured`` is False for a journal written before
    the generator checked itself: nothing is known then, and nothing is judged."""

    measured: bool = False
    saturated: bool = False
    behind_from: int | None = None
    """The first behind second, else the first with a late or unsent request (only when
    saturated; None when even that was the last, partial second)."""
    behind_seconds: int = 0
    due: int = 0
    sent: int = 0
    unsent: int = 0
    clipped: int = 0
    slip: LatencyStats = field(default_factory=LatencyStats)
    loop_lag: LatencyStats = field(default_factory=LatencyStats)
    cpu_mean: float | None = None
    cpu_max: float | None = None


class InstrumentTally:
    """Adds up closed seconds; judges them one by one and the session as a whole.

    The newest second is held back from the per-second judgement of a finished session: it
    is usually partial (the session stopped inside it), and a few requests counted unsent at
    the stop would make it look behind. A session saturated by a few late requests spread
    over seconds none of which is behind on its own dates from the first late one.
    """

    def __init__(self) -> None:
        self.slip = new_histogram(INTERVAL_FIGURES)
        self.loop_lag = new_histogram(INTERVAL_FIGURES)
        self.seconds = 0
        self.due = 0
        self.sent = 0
        self.unsent = 0
        self.clipped = 0
        self._cpu_total = 0.0
        self._cpu_count = 0
        self._cpu_max: float | None = None
        self._behind_seconds = 0
        self._first_behind: int | None = None
        self._first_late: int | None = None
        self._newest: tuple[int, bool, bool] | None = None
        """(index, behind, late) of the newest second, not counted yet."""
        self.run_start: int | None = None
        """First second of the current run of behind seconds (live: "behind since")."""
        self._fine_in_a_row = 0

    def add(self, second: InstrumentSecond) -> None:
        self.seconds += 1
        self.due += second.due
        self.sent += second.sent
        self.unsent += second.unsent
        self.clipped += second.clipped
        if second.slip is not None:
            self.slip.add(second.slip)
        if second.loop_lag is not None:
            self.loop_lag.add(second.loop_lag)
        if second.cpu_percent is not None:
            self._cpu_total += second.cpu_percent
            self._cpu_count += 1
            self._cpu_max = max(self._cpu_max or 0.0, second.cpu_percent)
        if self._newest is not None:
            self._count(*self._newest)
        behind = second.behind
        late = second.due > 0 and (second.sent < second.due or late_count(second.slip) > 0)
        self._newest = (second.index, behind, late)
        if behind:
            self._fine_in_a_row = 0
            if self.run_start is None:
                self.run_start = second.index
        else:
            self._fine_in_a_row += 1
            if self._fine_in_a_row >= LIVE_SECONDS:
                self.run_start = None

    def _count(self, index: int, behind: bool, late: bool) -> None:
        if behind:
            self._behind_seconds += 1
            if self._first_behind is None:
                self._first_behind = index
        if late and self._first_late is None:
            self._first_late = index

    def summary(self, *, final: bool) -> InstrumentSummary:
        """``final``: the session is over and its newest second may be partial (see above)."""
        if self.seconds == 0:
            return InstrumentSummary()
        first, count, late = self._first_behind, self._behind_seconds, self._first_late
        if not final and self._newest is not None:
            index, behind, newest_late = self._newest
            count += int(behind)
            first = index if first is None and behind else first
            late = index if late is None and newest_late else late
        saturated = is_behind(self.due, self.sent, self.slip)
        return InstrumentSummary(
            measured=True,
            saturated=saturated,
            behind_from=(first if first is not None else late) if saturated else None,
            behind_seconds=count,
            due=self.due,
            sent=self.sent,
            unsent=self.unsent,
            clipped=self.clipped,
            slip=LatencyStats.of(self.slip),
            loop_lag=LatencyStats.of(self.loop_lag),
            cpu_mean=self._cpu_total / self._cpu_count if self._cpu_count else None,
            cpu_max=self._cpu_max,
        )


@dataclass(frozen=True)
class InstrumentView:
    """The generator's own state for the live screen (plain data, defaults for "unknown")."""

    behind: bool = False
    """Behind over the last ``LIVE_SECONDS`` closed seconds taken together."""
    behind_since: float | None = None
    """Where the current run of behind seconds began."""
    saturated: bool = False
    """The session so far, judged as the report will judge it."""
    behind_from: float | None = None
    """The session's first behind second, when it is saturated."""
    slip_p99_ms: float | None = None
    loop_lag_ms: float | None = None
    """Event-loop lag p99 over the last closed seconds."""
    cpu_percent: float | None = None
    """Process CPU in the last closed second, % of one core."""
    unsent: int = 0
    clipped: int = 0

    @property
    def inconclusive(self) -> bool:
        """What the session measures now is (or was) the generator, not the gateway."""
        return self.behind or self.saturated
