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
from battletui.report.journal_reader import read_journal_checked
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
    if not journal_path.is_file():
        raise RebuildError(f"{journal_path}: no journal here")
    reading = read_journal_checked(journal_path)
    entries = reading.entries
    start = next((e for e in entries if e.get("type") == "start"), None)
    if start is None:
        first = reading.first_damage
        why = "" if first is None else f"; line {first.line}: {first.why}"
        raise RebuildError(f"{journal_path}: not a battletui journal (no start entry{why})")
    try:
        scenario = loads_scenario(str(start["scenario"]), path=str(journal_path), fmt="yaml")
    except (ScenarioError, KeyError) as error:
        raise RebuildError(
            f"{journal_path}: the journal's scenario is unreadable: {error}"
        ) from error
    load = start.get("load", True) is not False
    declared = scenario
    if not load and isinstance(start.get("declared"), str):
        try:  # a lab session records the file's workload and SLOs for its replay
            declared = loads_scenario(str(start["declared"]), path=str(journal_path), fmt="yaml")
        except ScenarioError as error:
            raise RebuildError(
                f"{journal_path}: the journal's scenario is unreadable: {error}"
            ) from error
    fmt = "toml" if start.get("format") == "toml" else "yaml"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_type.setdefault(str(entry.get("type")), []).append(entry)
    intervals = sorted(by_type.get("interval", []), key=lambda e: int(e["index"]))
    running = next(iter(by_type.get("running", [])), {})
    actions = [{k: v for k, v in e.items() if k != "type"} for e in by_type.get("action", [])]
    end = next(iter(by_type.get("end", [])), None)
    last_offset = max(
        [float(e.get("offset", 0.0)) for e in entries if "offset" in e]
        + [float(intervals[-1]["index"]) + 1 if intervals else 0.0]
    )
    duration = float(end["offset"]) if end is not None else last_offset
    end_reason = str(end["reason"]) if end is not None else KILLED

    windows = phase_windows(actions, duration, scenario.gateway.strategy)
    phase_corrected = [new_histogram() for _ in windows]
    phase_uncorrected = [new_histogram() for _ in windows]
    phase_counts = [[0, 0, 0] for _ in windows]
    phase_answers: list[Counter[str]] = [Counter() for _ in windows]
    corrected, uncorrected, failover_latency = new_histogram(), new_histogram(), new_histogram()
    errors: Counter[str] = Counter()
    upstreams: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    requests = ok = failovers = failed_over = 0
    series: list[IntervalSummary] = []
    instrument = InstrumentTally()
    measured: list[dict[str, Any]] = []
    """The intervals whose histograms decoded: the ones the outputs are built from."""
    for entry in intervals:
        try:  # decoded before anything is counted: a damaged second counts not at all
            right = decode(entry["corrected"])
            raw = decode(entry["uncorrected"])
            extra = decode(entry["failover_latency"]) if entry.get("failover_latency") else None
            second = second_of(entry)
        except Exception as error:  # base64, zlib, HdrHistogram: each its own error type
            reading.damage(entry, f"interval: a histogram does not decode ({type(error).__name__})")
            continue
        measured.append(entry)
        if second is not None:  # journals from before the generator checked itself have none
            instrument.add(second)
        corrected.add(right)
        uncorrected.add(raw)
        if extra is not None:
            failover_latency.add(extra)
        requests += int(entry["requests"])
        ok += int(entry["ok"])
        failovers += int(entry.get("failovers", 0))
        failed_over += int(entry.get("failed_over", 0))
        errors.update(entry.get("errors") or {})
        upstreams.update(entry.get("upstreams") or {})
        answers.update(entry.get("answers") or {})
        series.append(
            IntervalSummary(
                index=int(entry["index"]),
                requests=int(entry["requests"]),
                ok=int(entry["ok"]),
                errors=sum((entry.get("errors") or {}).values()),
                p95_ms=LatencyStats.of(right).p95,
            )
        )
        position = window_of(windows, int(entry["index"]))
        if position is not None:
            phase_corrected[position].add(right)
            phase_uncorrected[position].add(raw)
            phase_counts[position][0] += int(entry["requests"])
            phase_counts[position][1] += int(entry["ok"])
            phase_counts[position][2] += 1
            phase_answers[position].update(entry.get("answers") or {})

    cost = new_histogram()
    away: Counter[str] = Counter()
    for entry in by_type.get("failovers", []):
        if entry.get("cost"):
            cost.add(decode(entry["cost"]))
        away.update(entry.get("away_from") or {})

    transitions: dict[str, list[dict[str, Any]]] = {}
    for entry in by_type.get("breaker", []):
        transitions.setdefault(entry["provider"], []).append(
            {k: entry[k] for k in ("offset", "from", "to", "reason")}
        )
    health: dict[str, list[dict[str, Any]]] = {}
    for entry in by_type.get("health", []):
        health.setdefault(entry["provider"], []).append(
            {k: entry.get(k) for k in ("offset", "from", "to", "detail")}
        )
    ws_entries = by_type.get("ws", [])
    ws = None
    if ws_entries:
        last = ws_entries[-1]
        ws = WsView(
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
    strategies = [
        a["params"].get("name") for a in actions if a["kind"] == "strategy" and a["applied"]
    ]
    phases = [
        _phase(window, counts, phase_corrected[i], phase_uncorrected[i], phase_answers[i], scenario)
        for i, (window, counts) in enumerate(zip(windows, phase_counts, strict=True))
        # a phase shorter than a second holds no whole second: nothing was measured in it
        if counts[2] or window.end - window.start >= 1.0
    ]
    return SessionRecord(
        scenario=scenario,
        recorded=recorded_scenario(declared, actions, end_reason=end_reason, elapsed=duration),
        scenario_file=f"scenario.{fmt}",
        started_at=str(start.get("started_at", "")),
        duration_s=round(duration, 3),
        end_reason=end_reason,
        requests=requests,
        ok=ok,
        errors=dict(errors),
        failovers=failovers,
        latency_corrected=LatencyStats.of(corrected),
        latency_uncorrected=LatencyStats.of(uncorrected),
        upstreams=dict(upstreams),
        transitions=transitions,
        health_changes=health,
        actions=actions,
        series=series,
        ws=ws,
        ws_feed=[
            {k: e.get(k) for k in ("offset", "kind", "provider", "detail")}
            for e in by_type.get("ws_feed", [])
        ],
        failed_over=failed_over,
        answers=AnswerSummary.of(answers).with_heads(ws),
        failover_latency=LatencyStats.of(failover_latency),
        failover_cost=LatencyStats.of(cost),
        failovers_away=dict(away),
        gateway_events=[
            {k: e.get(k) for k in ("offset", "kind", "provider", "detail")}
            for e in by_type.get("gateway", [])
        ],
        final_strategy=strategies[-1] if strategies else scenario.gateway.strategy,
        phases=phases,
        impacts=fault_impacts(actions, transitions, duration),
        interval_histograms=[(int(e["index"]), str(e["corrected"])) for e in measured],
        running_wall=float(running.get("wall", 0.0)),
        workers=running["workers"] if isinstance(running.get("workers"), int) else None,
        received=received_figures(
            by_type.get("received", []),
            [spec.id for spec in scenario.providers],
            [int(e["index"]) for e in measured],
        ),
        instrument=instrument.summary(final=True),
        target=target_of_journal(next(iter(by_type.get("target", [])), None), scenario),
        load=load,
        damage=tuple(reading.damaged),
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
