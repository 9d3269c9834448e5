"""The verdict of now: the session's SLOs over its last seconds, beside the whole session's."""

from __future__ import annotations

import dataclasses

from battletui.engine.now_verdict import NowVerdict
from battletui.metrics import MergedHttpMetrics, WsView
from battletui.metrics.http import IntervalRecord
from battletui.metrics.latency import new_histogram, record_seconds
from battletui.metrics.recent import NOW_SECONDS, WsWindow
from battletui.scenario import SloSpec

SLO = SloSpec(success_rate=0.99, p95=0.2)


def second(index: int, *, requests: int, ok: int, latency: float) -> IntervalRecord:
    corrected = new_histogram()
    for _ in range(requests):
        record_seconds(corrected, latency)
    return IntervalRecord(
        index=index,
        requests=requests,
        ok=ok,
        errors={"503": requests - ok} if requests > ok else {},
        upstreams={},
        failovers=0,
        failed_over=0,
        corrected=corrected,
        uncorrected=corrected,
        failover_latency=None,
        due=requests,
        sent=requests,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_fails_now_then_recovery_passes_now_while_the_session_stays_failed() -> None:
    clock = Clock()
    metrics = MergedHttpMetrics(clock, workers=1, start=clock.now)
    now = NowVerdict(SLO)
    marks = []
    # 5 good seconds, 3 of outage (every request failed, slow), then 12 good ones
    plan = [(100, 0.05)] * 5 + [(0, 1.5)] * 3 + [(100, 0.05)] * 12
    for index, (ok, latency) in enumerate(plan):
        metrics.closed(0, second(index, requests=100, ok=ok, latency=latency))
        clock.now += 1
        now.tick(clock.now, metrics, None)
        marks.append(now.trend[-1])
    assert marks[:5] == ["pass"] * 5
    assert marks[5:8] == ["fail"] * 3
    # the outage leaves the window NOW_SECONDS seconds after its last second
    assert marks[8 : 7 + NOW_SECONDS] == ["fail"] * (NOW_SECONDS - 1)
    assert marks[7 + NOW_SECONDS :] == ["pass"] * (len(plan) - 7 - NOW_SECONDS)
    assert now.seconds == NOW_SECONDS
    assert metrics.success_rate is not None and metrics.success_rate < 0.99  # the session's


def test_nothing_sent_is_no_verdict_and_a_generator_behind_is_inconclusive() -> None:
    clock = Clock()
    metrics = MergedHttpMetrics(clock, workers=1, start=clock.now)
    now = NowVerdict(SLO)
    metrics.closed(0, second(0, requests=0, ok=0, latency=0.01))  # paused: nothing due
    now.tick(clock.now, metrics, None)
    paused = now.trend
    assert paused == ("none",)
    late = dataclasses.replace(second(1, requests=100, ok=100, latency=0.01), sent=50)
    metrics.closed(0, late)  # half of what was due never left: the generator is behind
    now.tick(clock.now, metrics, None)
    assert now.inconclusive and now.trend[-1] == "inconclusive"


def ws_view(at_gaps: int, heads: int, stall: float = 0.0) -> WsView:
    return WsView(
        subscribers=4,
        connected=4,
        head=heads,
        heads=heads,
        gaps=at_gaps,
        missing_blocks=at_gaps,
        duplicates=0,
        reorgs=0,
        broken_links=0,
        max_stall_ms=stall,
        current_stall_ms=stall,
        reconnects=0,
    )


def test_websocket_counts_are_what_grew_in_the_window() -> None:
    window = WsWindow(seconds=10)
    window.sample(0.0, ws_view(2, 100))  # two gaps long ago
    window.sample(5.0, ws_view(2, 150))
    window.sample(12.0, ws_view(2, 220))
    recent = window.recent()
    assert recent is not None and recent.gaps == 0  # the early gaps are out of the window
    window.sample(13.0, ws_view(3, 230, stall=1800.0))
    recent = window.recent()
    assert recent is not None
    assert (recent.gaps, recent.max_stall_ms, recent.heads) == (1, 1800.0, 230)
