"""Service-level objectives: what the scenario demands, judged against what was measured."""

from __future__ import annotations

from dataclasses import dataclass

from battletui.metrics import LatencyStats
from battletui.scenario import SloSpec


@dataclass(frozen=True)
class SloResult:
    name: str
    target: float
    actual: float | None
    passed: bool | None
    unit: str
    """``ratio`` (0..1, higher is better) or ``ms`` (lower is better)."""

    @property
    def target_text(self) -> str:
        return _fmt(self.target, self.unit, prefix=">= " if self.unit == "ratio" else "<= ")

    @property
    def actual_text(self) -> str:
        return "—" if self.actual is None else _fmt(self.actual, self.unit)


def _fmt(value: float, unit: str, prefix: str = "") -> str:
    if unit == "ratio":
        return f"{prefix}{value * 100:.2f}%"
    return f"{prefix}{value:.1f} ms"


def evaluate_slos(
    slo: SloSpec, *, success_rate: float | None, latency: LatencyStats
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
    return tuple(results)
