"""The gateway's failovers as it reports them: who was failed away from, why, at what cost.

Folded into one period per second: one event-log line (a burst of failovers reads as a
sentence, not a flood) and one journal entry whose cost histogram the report sums up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from battletui.metrics.latency import LatencyStats, new_histogram, record_seconds


@dataclass(frozen=True)
class FailoverSummary:
    """Failovers over one reporting period, for one event-log line."""

    count: int
    away_from: dict[str, int]
    reasons: dict[str, int]
    cost: LatencyStats
    cost_histogram: str
    """The period's cost HdrHistogram, encoded (for the journal: totals are rebuilt from it)."""


class FailoverLog:
    def __init__(self) -> None:
        self.count = 0
        self.away_from: Counter[str] = Counter()
        """Failovers per provider failed away from: the live "failed" column."""
        self._period_count = 0
        self._period_from: Counter[str] = Counter()
        self._period_reasons: Counter[str] = Counter()
        self._period_cost = new_histogram()

    def record(self, failed: tuple[tuple[str, str], ...], cost: float) -> None:
        self.count += 1
        self._period_count += 1
        for provider, reason in failed:
            self.away_from[provider] += 1
            self._period_from[provider] += 1
            self._period_reasons[_short(reason)] += 1
        record_seconds(self._period_cost, cost)

    def take_period(self) -> FailoverSummary | None:
        """What happened since the last call (None if nothing), then start a new period."""
        if not self._period_count:
            return None
        summary = FailoverSummary(
            count=self._period_count,
            away_from=dict(self._period_from),
            reasons=dict(self._period_reasons),
            cost=LatencyStats.of(self._period_cost),
            cost_histogram=self._period_cost.encode().decode("ascii"),
        )
        self._period_count = 0
        self._period_from.clear()
        self._period_reasons.clear()
        self._period_cost.reset()
        return summary


def _short(reason: str) -> str:
    """'timeout after 1.0s' -> 'timeout'; 'HTTP 503' stays; keeps the log lines short."""
    return reason.split(" after ")[0].split(" (")[0]
