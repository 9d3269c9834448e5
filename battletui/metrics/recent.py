"""The last few seconds, for the verdict of *now*.

A session's totals remember everything: one early stall, or a deliberate "kill everything",
keeps the whole-session verdict red however well the gateway recovered. A room watching a demo
asks a different question — is it holding up *now*? — so the same SLOs are also judged over
the last ``NOW_SECONDS`` complete seconds: HTTP figures from the merged per-second records,
WebSocket counts as the growth of the subscribers' totals over the same span.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from battletui.metrics.http import IntervalRecord
from battletui.metrics.latency import LatencyStats, new_histogram
from battletui.metrics.ws import WsView

NOW_SECONDS: Final = 10
"""How far back the verdict of now looks."""


@dataclass(frozen=True)
class RecentHttp:
    """HTTP figures of the last complete seconds."""

    seconds: int = 0
    requests: int = 0
    ok: int = 0
    latency: LatencyStats = field(default_factory=LatencyStats)
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None

    @classmethod
    def of(cls, records: Iterable[IntervalRecord]) -> RecentHttp:
        merged = new_histogram()
        answers: Counter[str] = Counter()
        count = requests = ok = 0
        for record in records:
            count += 1
            requests += record.requests
            ok += record.ok
            merged.add(record.corrected)
            answers.update(record.answers)
        return cls(count, requests, ok, LatencyStats.of(merged), answers)


class WsWindow:
    """Samples of the subscribers' totals; ``recent`` is what happened over the last span."""

    def __init__(self, seconds: float = NOW_SECONDS) -> None:
        self._seconds = seconds
        self._samples: deque[tuple[float, WsView]] = deque()

    def sample(self, at: float, view: WsView | None) -> None:
        if view is None:
            return
        self._samples.append((at, view))
        while len(self._samples) > 1 and self._samples[1][0] <= at - self._seconds:
            self._samples.popleft()

    def recent(self) -> WsView | None:
        """The newest view with its counts since the span began and the longest stall
        seen in it; None before any sample. ``heads`` stays the total so far, so that an
        outage now (no head in the span) is still judged, and fails."""
        if not self._samples:
            return None
        _, first = self._samples[0]
        _, last = self._samples[-1]
        stall = max(view.current_stall_ms for _, view in self._samples)
        return dataclasses.replace(
            last,
            gaps=last.gaps - first.gaps,
            missing_blocks=last.missing_blocks - first.missing_blocks,
            duplicates=last.duplicates - first.duplicates,
            reorgs=last.reorgs - first.reorgs,
            broken_links=last.broken_links - first.broken_links,
            max_stall_ms=stall,
            reconnects=last.reconnects - first.reconnects,
            checked=last.checked - first.checked,
            stale=last.stale - first.stale,
            wrong=last.wrong - first.wrong,
        )
