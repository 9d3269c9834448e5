"""Everything a finished (or interrupted) session measured, ready to be written out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from battletui.metrics import InstrumentSummary, IntervalSummary, LatencyStats, WsView
from battletui.metrics.answers import AnswerSummary
from battletui.report.breaker_timeline import FaultImpact
from battletui.report.journal_reader import Damage
from battletui.report.received import ReceivedFigures
from battletui.report.slo import SloResult
from battletui.scenario import Scenario


@dataclass(frozen=True)
class PhaseStats:
    """Latency and success in one window of the session (see ``phases.py``)."""

    start: float
    end: float
    label: str
    requests: int
    ok: int
    corrected: LatencyStats
    uncorrected: LatencyStats
    seconds: int = 0
    """Whole seconds measured in it (each second counts in the phase it mostly falls in)."""
    slos: tuple[SloResult, ...] = ()
    """The scenario's HTTP and answer SLOs judged over this phase alone (the WebSocket ones
    are judged over the whole session only)."""

    @property
    def slos_held(self) -> bool | None:
        judged = [slo.passed for slo in self.slos if slo.passed is not None]
        return all(judged) if judged else None


@dataclass(frozen=True)
class SessionRecord:
    scenario: Scenario
    """The scenario as it was run."""
    recorded: Scenario
    """The replayable scenario: setup plus the actions as applied."""
    scenario_file: str
    started_at: str
    duration_s: float
    end_reason: str
    requests: int
    ok: int
    errors: dict[str, int]
    failovers: int
    latency_corrected: LatencyStats
    latency_uncorrected: LatencyStats
    upstreams: dict[str, int]
    transitions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    health_changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    series: list[IntervalSummary] = field(default_factory=list)
    ws: WsView | None = None
    ws_feed: list[dict[str, Any]] = field(default_factory=list)
    failed_over: int = 0
    answers: AnswerSummary = field(default_factory=AnswerSummary)
    """Answers judged against the canonical chain (HTTP load and WebSocket heads)."""
    failover_latency: LatencyStats = field(default_factory=LatencyStats)
    failover_cost: LatencyStats = field(default_factory=LatencyStats)
    failovers_away: dict[str, int] = field(default_factory=dict)
    gateway_events: list[dict[str, Any]] = field(default_factory=list)
    final_strategy: str | None = None
    phases: list[PhaseStats] = field(default_factory=list)
    impacts: list[FaultImpact] = field(default_factory=list)
    interval_histograms: list[tuple[int, str]] = field(default_factory=list)
    """(second, encoded corrected HdrHistogram) per interval, for ``latency.hlog``."""
    running_wall: float = 0.0
    """Wall-clock time (epoch seconds) of second 0 of the intervals."""
    workers: int | None = None
    """Load-generator processes that sent the load (None: a journal from before they were)."""
    received: ReceivedFigures | None = None
    """What each provider received, as the lab counted it (None: a journal from before)."""
    instrument: InstrumentSummary = field(default_factory=InstrumentSummary)
    """The load generator's own figures and whether it kept up (unmeasured in old journals)."""
    target: dict[str, Any] = field(default_factory=dict)
    """The system under test (``report/target.py``); empty: the reference gateway."""
    load: bool = True
    damage: tuple[Damage, ...] = ()
    """Journal lines that could not be believed (skipped); the first is named on rebuild."""
    """battletui sent the load; False for ``battletui lab`` (someone else did: nothing is
    judged, and the report tells what the providers received and what the faults did)."""

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None
