"""A session's record, rebuilt from its journal alone.

The live session and ``battletui report`` both go through here, so what a finished session
writes and what a recovered one writes cannot drift apart. The journal holds one complete
interval per second (counts and full-precision HdrHistograms), per-second failover costs,
WebSocket checkpoints, actions, breaker and health changes: enough after a SIGKILL too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from battletui.metrics import (
    InstrumentTally,
    IntervalSummary,
    LatencyStats,
    WsView,
    decode_histogram,
    new_histogram,
)
from battletui.metrics.answers import AnswerSummary
from battletui.report.breaker_timeline import fault_impacts
from battletui.report.instrument import second_of
from battletui.report.journal_reader import JournalReading, read_journal_checked
from battletui.report.phases import PhaseWindow, phase_windows, window_of
from battletui.report.received import received_figures
from battletui.report.record import PhaseStats, SessionRecord
from battletui.report.recording import recorded_scenario
from battletui.report.slo import evaluate_slos
from battletui.report.target import target_of_journal
from battletui.scenario import Scenario, ScenarioError, loads_scenario

KILLED = "killed"
"""End reason of a session whose process died before it could say how it ended."""


class RebuildError(ValueError):
    """The folder holds no usable journal; the message says why, in one line."""


def decode(encoded: str) -> HdrHistogram:
    return decode_histogram(encoded)


def rebuild(journal_path: Path) -> SessionRecord:
    """The session's record from its journal alone (damaged lines are skipped and listed);
    raises RebuildError when the folder holds no usable journal."""
    if not journal_path.is_file():
        raise RebuildError(f"{journal_path}: no journal here")
    journal = _read(journal_path)
    tally = _Tally(
        phase_windows(journal.actions, journal.duration, journal.scenario.gateway.strategy)
    )
    for entry in journal.intervals:
        tally.count(entry, journal.reading)
    return _record(journal, tally)


@dataclasses.dataclass(frozen=True)
class _Journal:
    """A journal read: its entries by type, the scenario, the actions, how it ended."""

    reading: JournalReading
    start: dict[str, Any]
    scenario: Scenario
    declared: Scenario
    """The scenario file's own (a lab session ran without its workload and SLOs)."""
    by_type: dict[str, list[dict[str, Any]]]
    intervals: list[dict[str, Any]]
    """Its seconds, in order."""
    actions: list[dict[str, Any]]
    duration: float
    end_reason: str


def _read(journal_path: Path) -> _Journal:
    """The journal's entries, checked and sorted by type; RebuildError without a start."""
    reading = read_journal_checked(journal_path)
    entries = reading.entries
    start = next((e for e in entries if e.get("type") == "start"), None)
    if start is None:
        first = reading.first_damage
        why = "" if first is None else f"; line {first.line}: {first.why}"
        raise RebuildError(f"{journal_path}: not a battletui journal (no start entry{why})")
    scenario, declared = _scenarios(start, journal_path)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_type.setdefault(str(entry.get("type")), []).append(entry)
    intervals = sorted(by_type.get("interval", []), key=lambda e: int(e["index"]))
    end = next(iter(by_type.get("end", [])), None)
    last_offset = max(
        [float(e.get("offset", 0.0)) for e in entries if "offset" in e]
        + [float(intervals[-1]["index"]) + 1 if intervals else 0.0]
    )
    return _Journal(
        reading=reading,
        start=start,
        scenario=scenario,
        declared=declared,
        by_type=by_type,
        intervals=intervals,
        actions=[{k: v for k, v in e.items() if k != "type"} for e in by_type.get("action", [])],
        duration=float(end["offset"]) if end is not None else last_offset,
        end_reason=str(end["reason"]) if end is not None else KILLED,
    )


def _scenarios(start: dict[str, Any], journal_path: Path) -> tuple[Scenario, Scenario]:
    """The scenario the session ran, and the one its file declared (the same but for a lab
    session, which records the file's workload and SLOs for its replay)."""
    try:
        scenario = loads_scenario(str(start["scenario"]), path=str(journal_path), fmt="yaml")
    except (ScenarioError, KeyError) as error:
        raise RebuildError(
            f"{journal_path}: the journal's scenario is unreadable: {error}"
        ) from error
    load = start.get("load", True) is not False
    if load or not isinstance(start.get("declared"), str):
        return scenario, scenario
    try:
        declared = loads_scenario(str(start["declared"]), path=str(journal_path), fmt="yaml")
    except ScenarioError as error:
        raise RebuildError(
            f"{journal_path}: the journal's scenario is unreadable: {error}"
        ) from error
    return scenario, declared


class _Tally:
    """What the journal's complete seconds add up to, over the session and per phase."""

    def __init__(self, windows: list[PhaseWindow]) -> None:
        self.windows = windows
        self.phase_corrected = [new_histogram() for _ in windows]
        self.phase_uncorrected = [new_histogram() for _ in windows]
        self.phase_counts = [[0, 0, 0] for _ in windows]
        """Requests, successes and whole seconds of each phase."""
        self.phase_answers: list[Counter[str]] = [Counter() for _ in windows]
        self.corrected = new_histogram()
        self.uncorrected = new_histogram()
        self.failover_latency = new_histogram()
        self.errors: Counter[str] = Counter()
        self.upstreams: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.requests = self.ok = self.failovers = self.failed_over = 0
        self.series: list[IntervalSummary] = []
        self.instrument = InstrumentTally()
        self.measured: list[dict[str, Any]] = []
        """The intervals whose histograms decoded: the ones the outputs are built from."""

    def count(self, entry: dict[str, Any], reading: JournalReading) -> None:
        """One interval, decoded before anything is counted: a damaged second counts not at
        all (it is listed in ``reading`` instead)."""
        try:
            right = decode(entry["corrected"])
            raw = decode(entry["uncorrected"])
            extra = decode(entry["failover_latency"]) if entry.get("failover_latency") else None
            second = second_of(entry)
        except Exception as error:  # base64, zlib, HdrHistogram: each its own error type
            reading.damage(entry, f"interval: a histogram does not decode ({type(error).__name__})")
            return
        self.measured.append(entry)
        if second is not None:  # journals from before the generator checked itself have none
            self.instrument.add(second)
        self.corrected.add(right)
        self.uncorrected.add(raw)
        if extra is not None:
            self.failover_latency.add(extra)
        self.requests += int(entry["requests"])
        self.ok += int(entry["ok"])
        self.failovers += int(entry.get("failovers", 0))
        self.failed_over += int(entry.get("failed_over", 0))
        self.errors.update(entry.get("errors") or {})
        self.upstreams.update(entry.get("upstreams") or {})
        self.answers.update(entry.get("answers") or {})
        self.series.append(
            IntervalSummary(
                index=int(entry["index"]),
                requests=int(entry["requests"]),
                ok=int(entry["ok"]),
                errors=sum((entry.get("errors") or {}).values()),
                p95_ms=LatencyStats.of(right).p95,
            )
        )
        self._count_phase(entry, right, raw)

    def _count_phase(self, entry: dict[str, Any], right: HdrHistogram, raw: HdrHistogram) -> None:
        position = window_of(self.windows, int(entry["index"]))
        if position is None:
            return
        self.phase_corrected[position].add(right)
        self.phase_uncorrected[position].add(raw)
        self.phase_counts[position][0] += int(entry["requests"])
        self.phase_counts[position][1] += int(entry["ok"])
        self.phase_counts[position][2] += 1
        self.phase_answers[position].update(entry.get("answers") or {})

    def phases(self, scenario: Scenario) -> list[PhaseStats]:
        return [
            _phase(
                window,
                counts,
                self.phase_corrected[i],
                self.phase_uncorrected[i],
                self.phase_answers[i],
                scenario,
            )
            for i, (window, counts) in enumerate(zip(self.windows, self.phase_counts, strict=True))
            # a phase shorter than a second holds no whole second: nothing was measured in it
            if counts[2] or window.end - window.start >= 1.0
        ]


def _record(journal: _Journal, tally: _Tally) -> SessionRecord:
    by_type, scenario, actions = journal.by_type, journal.scenario, journal.actions
    cost, away = _failover_costs(by_type.get("failovers", []))
    transitions = _transitions(by_type.get("breaker", []))
    health = _health_changes(by_type.get("health", []))
    ws = _ws(by_type.get("ws", []))
    strategies = [
        a["params"].get("name") for a in actions if a["kind"] == "strategy" and a["applied"]
    ]
    phases = tally.phases(scenario)
    running = next(iter(by_type.get("running", [])), {})
    fmt = "toml" if journal.start.get("format") == "toml" else "yaml"
    return SessionRecord(
        scenario=scenario,
        recorded=recorded_scenario(
            journal.declared, actions, end_reason=journal.end_reason, elapsed=journal.duration
        ),
        scenario_file=f"scenario.{fmt}",
        started_at=str(journal.start.get("started_at", "")),
        duration_s=round(journal.duration, 3),
        end_reason=journal.end_reason,
        requests=tally.requests,
        ok=tally.ok,
        errors=dict(tally.errors),
        failovers=tally.failovers,
        latency_corrected=LatencyStats.of(tally.corrected),
        latency_uncorrected=LatencyStats.of(tally.uncorrected),
        upstreams=dict(tally.upstreams),
        transitions=transitions,
        health_changes=health,
        actions=actions,
        series=tally.series,
        ws=ws,
        ws_feed=_picked(by_type.get("ws_feed", []), ("offset", "kind", "provider", "detail")),
        failed_over=tally.failed_over,
        answers=AnswerSummary.of(tally.answers).with_heads(ws),
        failover_latency=LatencyStats.of(tally.failover_latency),
        failover_cost=LatencyStats.of(cost),
        failovers_away=dict(away),
        gateway_events=_picked(
            by_type.get("gateway", []), ("offset", "kind", "provider", "detail")
        ),
        final_strategy=strategies[-1] if strategies else scenario.gateway.strategy,
        phases=phases,
        impacts=fault_impacts(actions, transitions, journal.duration),
        interval_histograms=[(int(e["index"]), str(e["corrected"])) for e in tally.measured],
        running_wall=float(running.get("wall", 0.0)),
        workers=running["workers"] if isinstance(running.get("workers"), int) else None,
        received=received_figures(
            by_type.get("received", []),
            [spec.id for spec in scenario.providers],
            [int(e["index"]) for e in tally.measured],
        ),
        instrument=tally.instrument.summary(final=True),
        target=target_of_journal(next(iter(by_type.get("target", [])), None), scenario),
        load=journal.start.get("load", True) is not False,
        damage=tuple(journal.reading.damaged),
    )


def _failover_costs(entries: list[dict[str, Any]]) -> tuple[HdrHistogram, Counter[str]]:
    """What the failed attempts cost the gateway, and how often each provider was left."""
    cost = new_histogram()
    away: Counter[str] = Counter()
    for entry in entries:
        if entry.get("cost"):
            cost.add(decode(entry["cost"]))
        away.update(entry.get("away_from") or {})
    return cost, away


def _transitions(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    transitions: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        transitions.setdefault(entry["provider"], []).append(
            {k: entry[k] for k in ("offset", "from", "to", "reason")}
        )
    return transitions


def _health_changes(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    health: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        health.setdefault(entry["provider"], []).append(
            {k: entry.get(k) for k in ("offset", "from", "to", "detail")}
        )
    return health


def _picked(entries: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: e.get(k) for k in keys} for e in entries]


def _ws(entries: list[dict[str, Any]]) -> WsView | None:
    """The WebSocket figures as the last checkpoint left them (none without subscribers)."""
    if not entries:
        return None
    last = entries[-1]
    return WsView(
        subscribers=int(last["subscribers"]),
        connected=int(last.get("connected", 0)),
        head=last.get("head"),
        heads=int(last["heads"]),
        gaps=int(last["gaps"]),
        missing_blocks=int(last["missing_blocks"]),
        duplicates=int(last["duplicates"]),
        reorgs=int(last["reorgs"]),
        broken_links=int(last["broken_links"]),
        max_stall_ms=float(last["max_stall_ms"]),
        current_stall_ms=0.0,
        reconnects=int(last["reconnects"]),
        checked=int(last.get("checked", 0)),
        stale=int(last.get("stale", 0)),
        wrong=int(last.get("wrong", 0)),
    )


def _phase(
    window: PhaseWindow,
    counts: list[int],
    corrected: HdrHistogram,
    uncorrected: HdrHistogram,
    answers: Counter[str],
    scenario: Scenario,
) -> PhaseStats:
    requests, ok, seconds = counts
    latency = LatencyStats.of(corrected)
    return PhaseStats(
        start=window.start,
        end=window.end,
        label=window.label,
        requests=requests,
        ok=ok,
        corrected=latency,
        uncorrected=LatencyStats.of(uncorrected),
        seconds=seconds,
        slos=evaluate_slos(
            dataclasses.replace(scenario.slo, ws_gaps=None, ws_duplicates=None, ws_max_stall=None),
            success_rate=ok / requests if requests else None,
            latency=latency,
            answers=AnswerSummary.of(answers),
        ),
    )
