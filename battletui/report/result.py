"""``result.json``: the stable, machine-readable outcome of a session (schema in README).

Fields may be added by later versions; none is ever renamed or removed.
"""

from __future__ import annotations

from typing import Any, Final

from battletui.metrics import LatencyStats
from battletui.report.instrument import INCONCLUSIVE, instrument_json
from battletui.report.received import received_json
from battletui.report.record import PhaseStats, SessionRecord
from battletui.report.slo import SloResult, evaluate_slos
from battletui.report.target import target_of_journal

SCHEMA_VERSION = 1


def slo_results(record: SessionRecord) -> tuple[SloResult, ...]:
    return evaluate_slos(
        record.scenario.slo,
        success_rate=record.success_rate,
        latency=record.latency_corrected,
        ws=record.ws,
        answers=record.answers,
    )


def verdict_of(results: tuple[SloResult, ...]) -> str:
    """``fail`` as soon as one SLO fails or cannot be judged (no data is not a pass)."""
    return "pass" if all(r.passed for r in results) else "fail"


def _latency(stats: LatencyStats) -> dict[str, float | int]:
    return {
        "count": stats.count,
        "p50": round(stats.p50, 3),
        "p95": round(stats.p95, 3),
        "p99": round(stats.p99, 3),
        "p999": round(stats.p999, 3),
        "max": round(stats.max, 3),
    }


def _ws(record: SessionRecord) -> dict[str, Any] | None:
    ws = record.ws
    if ws is None:
        return None
    switches = [e for e in record.ws_feed if e["kind"] == "switch"]
    return {
        "subscribers": ws.subscribers,
        "heads": ws.heads,
        "head": ws.head,
        "gaps": ws.gaps,
        "missing_blocks": ws.missing_blocks,
        "duplicates": ws.duplicates,
        "reorgs": ws.reorgs,
        "broken_links": ws.broken_links,
        "max_stall_ms": round(ws.max_stall_ms, 3),
        "reconnects": ws.reconnects,
        "upstream_switches": len(switches),
        "feed": record.ws_feed,
    }


NOTHING_JUDGED: Final = "none"
"""The verdict of a ``battletui lab`` session: battletui sent no load, so judged nothing."""


def _verdict(record: SessionRecord, slo_verdict: str) -> str:
    if not record.load:
        return NOTHING_JUDGED
    return INCONCLUSIVE if record.instrument.saturated else slo_verdict


def build_result(record: SessionRecord) -> dict[str, Any]:
    """The result; ``verdict`` is ``inconclusive`` when the load generator fell behind (the
    SLOs were then judged on its own delays: ``slo_verdict`` keeps what they said)."""
    results = slo_results(record)
    slo_verdict = verdict_of(results)
    return {
        "schema": SCHEMA_VERSION,
        "scenario": record.scenario.name,
        "scenario_file": record.scenario_file,
        "seed": record.scenario.seed,
        "target": record.target or target_of_journal(None, record.scenario),
        "started_at": record.started_at,
        "duration_s": record.duration_s,
        "end_reason": record.end_reason,
        "load": record.load,
        "verdict": _verdict(record, slo_verdict),
        "slo_verdict": slo_verdict if record.load else NOTHING_JUDGED,
        "slos": [
            {
                "name": r.name,
                "target": r.target,
                "actual": None if r.actual is None else round(r.actual, 6),
                "unit": r.unit,
                "passed": bool(r.passed),
            }
            for r in results
        ],
        "http": _http(record),
        "instrument": instrument_json(record.instrument),
        "gateway": {
            "strategy": record.scenario.gateway.strategy,
            "final_strategy": record.final_strategy or record.scenario.gateway.strategy,
            "events": record.gateway_events,
        },
        "failovers": {
            "count": record.failovers,
            "requests": record.failed_over,
            "latency_ms": _latency(record.failover_latency),
            "cost_ms": _latency(record.failover_cost),
            "away_from": dict(sorted(record.failovers_away.items())),
        },
        "ws": _ws(record),
        "providers": _providers(record),
        "actions": record.actions,
        "phases": [_phase(phase) for phase in record.phases],
        "fault_impacts": [impact.to_json() for impact in record.impacts],
        "series": _series(record),
    }


def _http(record: SessionRecord) -> dict[str, Any]:
    """The load as asked for and as it went: rate, counts, answers, latency."""
    http = record.scenario.workload.http
    unsent = record.instrument.unsent
    duration = record.duration_s
    return {
        "mode": "closed" if http.closed else "open",
        "target_rate": None if http.closed else http.rate,
        "achieved_rate": (round((record.requests - unsent) / duration, 2) if duration > 0 else 0.0),
        "requests": record.requests,
        "ok": record.ok,
        "success_rate": None if record.success_rate is None else round(record.success_rate, 6),
        "errors": dict(sorted(record.errors.items())),
        "failovers": record.failovers,
        "workers": record.workers,
        "connections": http.connections,
        "mix": http.preset or "custom",
        "answers": {
            **record.answers.to_json(),
            "stale_blocks": record.scenario.workload.stale_blocks,
        },
        "latency_ms": {
            "corrected": _latency(record.latency_corrected),
            "uncorrected": _latency(record.latency_uncorrected),
        },
    }


def _providers(record: SessionRecord) -> dict[str, Any]:
    """Each provider: what the gateway sent it, what it received, its breaker and health."""
    served_total = sum(record.upstreams.values())
    providers: dict[str, Any] = {}
    for spec in record.scenario.providers:
        served = record.upstreams.get(spec.id, 0)
        providers[spec.id] = {
            "requests": served,
            "share": round(served / served_total, 4) if served_total else 0.0,
            "transitions": record.transitions.get(spec.id, []),
            "failovers_away": record.failovers_away.get(spec.id, 0),
            "health": record.health_changes.get(spec.id, []),
            "received": received_json(record.received, spec.id),
        }
    return providers


def _phase(phase: PhaseStats) -> dict[str, Any]:
    """One stretch between actions, with the SLOs judged over it alone."""
    return {
        "label": phase.label,
        "start_s": round(phase.start, 3),
        "end_s": round(phase.end, 3),
        "requests": phase.requests,
        "success_rate": round(phase.ok / phase.requests, 6) if phase.requests else None,
        "latency_ms": {
            "corrected": _latency(phase.corrected),
            "uncorrected": _latency(phase.uncorrected),
        },
        "seconds": phase.seconds,
        "slos_held": phase.slos_held,
        "slos": [
            {
                "name": r.name,
                "actual": None if r.actual is None else round(r.actual, 6),
                "passed": r.passed,
            }
            for r in phase.slos
        ],
    }


def _series(record: SessionRecord) -> list[dict[str, Any]]:
    """Second by second, for the charts."""
    return [
        {
            "t": s.index,
            "requests": s.requests,
            "ok": s.ok,
            "errors": s.errors,
            "p95_ms": round(s.p95_ms, 3),
            "received": (
                None if record.received is None else record.received.per_second.get(s.index)
            ),
        }
        for s in record.series
    ]
