"""The verdict of now: the scenario's SLOs over the last seconds, and its trend.

The whole-session verdict answers "did it hold up?"; a room watching a live demo asks "is it
holding up now?". Each time a second completes, the same SLOs are judged over the last
``NOW_SECONDS`` (``metrics/recent.py``) and the outcome is kept for the trend the top line
draws. A second in which the load generator was behind is *inconclusive*, never a failure of
the gateway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final, Literal

from battletui.metrics import MergedHttpMetrics, SloStatus, WsView
from battletui.metrics.answers import AnswerSummary
from battletui.metrics.recent import NOW_SECONDS, WsWindow
from battletui.report import SloResult, evaluate_slos
from battletui.scenario import SloSpec

TREND_SECONDS: Final = 30
"""Seconds of now-verdicts the top line can draw."""

NowMark = Literal["pass", "fail", "none", "inconclusive"]


def slo_statuses(results: Iterable[SloResult]) -> tuple[SloStatus, ...]:
    """Judged SLOs as the screen shows them (the session's and the last seconds')."""
    return tuple(SloStatus(r.name, r.target_text, r.actual_text, r.passed) for r in results)


class NowVerdict:
    """Fed once per engine tick; read by the snapshot builder."""

    def __init__(self, slo: SloSpec) -> None:
        self._slo = slo
        self._ws = WsWindow(NOW_SECONDS)
        self._seen = -1
        self.slos: tuple[SloStatus, ...] = ()
        self.seconds = 0
        """Complete seconds the verdict was judged over (fewer than NOW_SECONDS at first)."""
        self.inconclusive = False
        self._trend: deque[NowMark] = deque(maxlen=TREND_SECONDS)

    @property
    def trend(self) -> tuple[NowMark, ...]:
        return tuple(self._trend)

    def tick(self, at: float, metrics: MergedHttpMetrics | None, ws: WsView | None) -> None:
        self._ws.sample(at, ws)
        if metrics is None or metrics.complete == self._seen:
            return
        self._seen = metrics.complete
        http = metrics.recent()
        recent_ws = self._ws.recent()
        answers = AnswerSummary.of(http.answers).with_heads(recent_ws)
        results = evaluate_slos(
            self._slo,
            success_rate=http.success_rate,
            latency=http.latency,
            ws=recent_ws,
            answers=answers,
        )
        self.slos = slo_statuses(results)
        self.seconds = http.seconds
        self.inconclusive = metrics.instrument_view().behind
        self._trend.append(self._mark())

    def _mark(self) -> NowMark:
        judged = [s.passed for s in self.slos if s.passed is not None]
        if not judged:
            return "none"
        if self.inconclusive:
            return "inconclusive"
        return "pass" if all(judged) else "fail"
