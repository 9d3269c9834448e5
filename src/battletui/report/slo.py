"""Service-level objectives: what the scenario demands, judged against what was measured."""

from __future__ import annotations

from dataclasses import dataclass

from battletui.metrics import LatencyStats, WsView
from battletui.scenario import SloSpec


@dataclass(frozen=True)
class SloResult:
    name: str
    target: float
    actual: float | None
    passed: bool | None
    unit: str
    """``ratio`` (0..1, higher is better), ``ms`` or ``count`` (lower is better)."""

    @property
    def target_text(self) -> str:
        return _fmt(self.target, self.unit, prefix=">= " if self.unit == "ratio" else "<= ")

    @property
    def actual_text(self) -> str:
        return "—" if self.actual is None else _fmt(self.actual, self.unit)


def _fmt(value: float, unit: str, prefix: str = "") -> str:
    if unit == "ratio":
        return f"{prefix}{value * 100:.2f}%"
    if unit == "count":
        return f"{prefix}{value:.0f}"
    return f"{prefix}{value:.1f} ms"


def evaluate_slos(
    slo: SloSpec,
    *,
    success_rate: float | None,
    latency: LatencyStats,
    ws: WsView | None = None,
) -> tuple[SloResult, ...]:
    """Judge each objective set in ``slo``; with no traffic yet, ``passed`` is None."""
    results: list[SloResult] = []
    if slo.success_rate is not None:
        passed = None if success_rate is None else success_rate >= slo.success_rate
        results.append(SloResult("success_rate", slo.success_rate, success_rate, passed, "ratio"))
    for name in ("p50", "p95", "p99", "max"):
        target: float | None = getattr(slo, name)
        if target is None:
            continue
        target_ms = target * 1000
        actual = getattr(latency, name) if latency.count else None
        passed = None if actual is None else actual <= target_ms
        results.append(SloResult(name, target_ms, actual, passed, "ms"))
    judged = ws is not None and ws.subscribers > 0 and ws.heads > 0
    for name, count in (("ws_gaps", "gaps"), ("ws_duplicates", "duplicates")):
        limit: int | None = getattr(slo, name)
        if limit is None:
            continue
        value = float(getattr(ws, count)) if judged and ws is not None else None
        passed = None if value is None else value <= limit
        results.append(SloResult(name, float(limit), value, passed, "count"))
    if slo.ws_max_stall is not None:
        stall = ws.max_stall_ms if judged and ws is not None else None
        passed = None if stall is None else stall <= slo.ws_max_stall * 1000
        results.append(SloResult("ws_max_stall", slo.ws_max_stall * 1000, stall, passed, "ms"))
    return tuple(results)
