"""A ``SessionLink`` that serves one fixed snapshot: for snapshot tests and key tests."""

from __future__ import annotations

from pathlib import Path

from battletui.engine import ActionOutcome, ActionSource
from battletui.metrics import (
    Event,
    HistogramBars,
    LatencyStats,
    ProviderView,
    SloStatus,
    Snapshot,
    WsView,
)
from battletui.metrics.answers import AnswerSummary
from battletui.metrics.latency import BAR_EDGES_MS
from battletui.scenario import Action


def frozen_snapshot() -> Snapshot:
    """A mid-demo picture: alpha killed, its breaker open, traffic on beta and gamma."""
    return Snapshot(
        scenario="demo",
        phase="running",
        elapsed=41.0,
        duration=600.0,
        target_rate=100.0,
        strategy="fastest",
        gateway_url="http://127.0.0.1:40000",
        providers=(
            ProviderView(
                1,
                "alpha",
                "http://127.0.0.1:40001",
                "DOWN",
                "OPEN",
                0.0,
                2_050,
                None,
                0.0,
                breaker_left=3.2,
                failovers_from=37,
                received=2_051,
            ),
            ProviderView(
                2,
                "beta",
                "http://127.0.0.1:40002",
                "UP",
                "CLOSED",
                0.71,
                1_420,
                51.2,
                0.0,
                serving_ws=True,
                faults=("errors 25% rate-limit",),
                rate_limited_for=0.8,
                error_rate=0.25,
                error_kind="rate-limit",
                received=1_460,
                received_share=0.7,
            ),
            ProviderView(
                3,
                "gamma",
                "http://127.0.0.1:40003",
                "SLOW",
                "HALF-OPEN",
                0.29,
                530,
                312.0,
                200.0,
                faults=("+200ms", "eth_getLogs +800ms"),
                lag=4,
                received=540,
                received_share=0.3,
            ),
        ),
        requests=4_000,
        success_rate=0.9975,
        window_success_rate=1.0,
        rate=99.6,
        errors={"transport": 10},
        failovers=37,
        answers=AnswerSummary(
            checked=3_210,
            stale=12,
            wrong=0,
            by_upstream={"alpha": {"checked": 900, "stale": 12, "wrong": 0}},
        ),
        latency_window=LatencyStats(498, 48.1, 84.2, 130.5, 380.0, 402.3),
        latency_total=LatencyStats(4_000, 22.0, 84.0, 131.0, 390.0, 402.3),
        bars=HistogramBars(BAR_EDGES_MS, (0, 0, 0, 0, 3, 250, 180, 50, 10, 5, 0, 0, 0)),
        rate_series=tuple(float(100 - (i % 3)) for i in range(40)),
        p95_series=tuple(20.0 if i < 10 else 84.0 for i in range(40)),
        error_series=tuple(10.0 if i == 10 else 0.0 for i in range(40)),
        events=(
            Event(0.0, "session started · 3 providers", "ok"),
            Event(10.0, "kill alpha ✓ port 40001 refuses connections", "warn"),
            Event(10.0, "alpha DOWN", "error"),
            Event(
                10.1, "breaker alpha OPEN · 5 consecutive failures (connection refused)", "error"
            ),
            Event(30.0, "degrade gamma +200ms ✓ now +200ms; /health answered in 291ms", "warn"),
            Event(30.5, "gamma SLOW (312ms)", "warn"),
        ),
        ws=WsView(
            subscribers=4,
            connected=4,
            head=1041,
            heads=164,
            gaps=0,
            missing_blocks=0,
            duplicates=2,
            reorgs=0,
            broken_links=0,
            max_stall_ms=1240.0,
            current_stall_ms=420.0,
            reconnects=0,
            serving="beta",
        ),
        slos=(
            SloStatus("success_rate", ">= 99.00%", "99.75%", True),
            SloStatus("p95", "<= 300.0 ms", "84.0 ms", True),
        ),
        # the last 10 s: alpha's kill cost a few requests, then the gateway held
        now_slos=(
            SloStatus("success_rate", ">= 99.00%", "99.40%", True),
            SloStatus("p95", "<= 300.0 ms", "91.0 ms", True),
        ),
        now_seconds=10,
        now_trend=("pass",) * 20 + ("fail",) * 3 + ("pass",) * 7,
    )


class FakeLink:
    def __init__(self, snapshot: Snapshot | None = None, folder: Path | None = None) -> None:
        self.snap = snapshot or frozen_snapshot()
        self.folder = folder or Path("sessions/fake")
        self.applied: list[Action] = []
        self.stamped: list[float | None] = []
        self.started = False
        self.finished_with: str | None = None
        self.lost = False
        self.lost_reason: str | None = None
        self.reconnecting = False
        self.viewer_events: tuple[Event, ...] = ()

    async def start(self) -> None:
        self.started = True

    def snapshot(self) -> Snapshot:
        return self.snap

    async def apply(
        self, action: Action, source: ActionSource = "key", *, at: float | None = None
    ) -> ActionOutcome:
        self.applied.append(action)
        self.stamped.append(at)
        return ActionOutcome(action, self.snap.elapsed, source, True, "fake")

    async def finish(self, reason: str) -> Path | None:
        self.finished_with = reason
        return self.folder
