"""Building the frozen ``Snapshot`` a viewer draws from, out of the live session's parts.

Each figure comes from the part that measured it, over a socket: health from the engine's
probes, breakers and strategy from the gateway's own admin endpoint (``GatewayView``),
faults and received counts from the lab's control endpoint (``LabWatcher``), traffic share
and latency from what the workload saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from battletui.engine.chaos import Endpoint
from battletui.engine.health import HealthMonitor
from battletui.engine.lab_watcher import LabWatcher
from battletui.engine.now_verdict import NowVerdict, slo_statuses
from battletui.metrics import (
    Event,
    HttpWindow,
    LatencyStats,
    MergedHttpMetrics,
    ProviderView,
    SessionPhase,
    Snapshot,
    WsView,
)
from battletui.metrics.answers import AnswerSummary
from battletui.observe import GatewayView
from battletui.protocol.faults import FaultState
from battletui.report import evaluate_slos
from battletui.scenario import Scenario

SERIES_SECONDS = 240
"""Seconds of the over-time series a snapshot carries (a wide screen draws them all)."""


def build_snapshot(
    *,
    scenario: Scenario,
    phase: SessionPhase,
    elapsed: float,
    endpoints: Mapping[str, Endpoint],
    lab: LabWatcher | None,
    gateway: GatewayView,
    metrics: MergedHttpMetrics | None,
    target_rate: float,
    health: HealthMonitor | None,
    ws: WsView | None,
    failovers_away: Mapping[str, int],
    events: tuple[Event, ...],
    session_dir: str | None,
    message: str | None,
    gateway_url: str | None = None,
    gateway_external: bool = False,
    load: bool = True,
    paused: bool = False,
    now: NowVerdict | None = None,
) -> Snapshot:
    """What a viewer draws now; the traffic figures join once the workload measures."""
    base = Snapshot(
        scenario=scenario.name,
        phase=phase,
        elapsed=elapsed,
        duration=scenario.duration,
        target_rate=target_rate,
        strategy=gateway.strategy or _configured_strategy(scenario),
        events=events,
        session_dir=session_dir,
        gateway_url=gateway_url,
        gateway_external=gateway_external,
        message=message,
        share_source=gateway.share_source,
        closed_loop=scenario.workload.http.closed,
        load=load,
        paused=paused,
    )
    if metrics is None or not endpoints:
        return base
    window = metrics.window()
    corrected = metrics.total_latency()
    providers = _providers(
        scenario, endpoints, metrics, window, lab, gateway, health, ws, failovers_away
    )
    return _with_traffic(base, scenario, metrics, window, corrected, providers, ws, now)


def _providers(
    scenario: Scenario,
    endpoints: Mapping[str, Endpoint],
    metrics: MergedHttpMetrics,
    window: HttpWindow,
    lab: LabWatcher | None,
    gateway: GatewayView,
    health: HealthMonitor | None,
    ws: WsView | None,
    failovers_away: Mapping[str, int],
) -> tuple[ProviderView, ...]:
    """One row per provider, each figure from the part that measured it."""
    received_share = lab.received_share() if lab is not None else {}
    providers = []
    for key, spec in enumerate(scenario.providers, start=1):
        endpoint = endpoints[spec.id]
        faults = lab.faults(spec.id) if lab is not None else FaultState()
        upstream = gateway.upstream(spec.id)
        rtt = health.rtt.get(spec.id) if health else None
        providers.append(
            ProviderView(
                key=key,
                id=spec.id,
                url=endpoint.url,
                health=health.health[spec.id] if health else "UNKNOWN",
                breaker=upstream.breaker,
                share=window.upstream_share.get(spec.id, 0.0),
                served=metrics.upstreams.get(spec.id, 0),
                probe_ms=None if rtt is None else rtt * 1000,
                added_latency_ms=faults.added_latency * 1000,
                flapping=faults.flapping,
                serving_ws=ws is not None and ws.serving == spec.id,
                faults=fault_words(faults),
                breaker_left=upstream.breaker_left,
                rate_limited_for=upstream.rate_limited_for,
                lag=upstream.lag,
                failovers_from=failovers_away.get(spec.id, 0),
                error_rate=faults.error_rate,
                error_kind=faults.error_kind,
                received=lab.received(spec.id).requests if lab is not None else 0,
                received_share=received_share.get(spec.id, 0.0),
            )
        )
    return tuple(providers)


def _with_traffic(
    base: Snapshot,
    scenario: Scenario,
    metrics: MergedHttpMetrics,
    window: HttpWindow,
    corrected: LatencyStats,
    providers: tuple[ProviderView, ...],
    ws: WsView | None,
    now: NowVerdict | None,
) -> Snapshot:
    """``base`` with what the workload measured: totals, the last seconds, series, SLOs."""
    series = list(metrics.series)[-SERIES_SECONDS:]
    answers = AnswerSummary.of(metrics.answers).with_heads(ws)
    slos = evaluate_slos(
        scenario.slo,
        success_rate=metrics.success_rate,
        latency=corrected,
        ws=ws,
        answers=answers,
    )
    return dataclasses.replace(
        base,
        providers=providers,
        requests=metrics.requests,
        success_rate=metrics.success_rate,
        window_success_rate=window.success_rate,
        rate=window.rate,
        errors=dict(metrics.errors),
        failovers=metrics.failovers,
        failed_over=metrics.failed_over,
        answers=answers,
        failover_latency=LatencyStats.of(metrics.failover_latency),
        latency_window=window.latency,
        latency_total=corrected,
        bars=window.bars,
        ws=ws,
        rate_series=tuple(float(s.requests) for s in series),
        p95_series=tuple(s.p95_ms for s in series),
        error_series=tuple(float(s.errors) for s in series),
        slos=slo_statuses(slos),
        instrument=metrics.instrument_view(),
        now_slos=now.slos if now is not None else (),
        now_seconds=now.seconds if now is not None else 0,
        now_trend=now.trend if now is not None else (),
    )


def _configured_strategy(scenario: Scenario) -> str:
    """``gateway.strategy`` configures only the reference gateway; an external one's
    strategy is whatever its observers say, else unknown."""
    return "n/a" if scenario.target is not None else scenario.gateway.strategy


def fault_words(faults: FaultState) -> tuple[str, ...]:
    """The provider's active faults in a few words each, for the screen."""
    words: list[str] = []
    if faults.hung:
        words.append("hung")
    if faults.lagging:
        words.append(f"lag @#{faults.lag_head}" if faults.lag_head is not None else "lagging")
    if faults.flapping:
        words.append("flapping")
    if faults.error_rate:
        words.append(f"errors {faults.error_rate * 100:g}% {faults.error_kind}")
    if faults.added_latency:
        words.append(f"+{faults.added_latency * 1000:.0f}ms")
    for method, added in sorted(faults.method_latency.items()):
        words.append(f"{method} +{added * 1000:.0f}ms")
    return tuple(words)
