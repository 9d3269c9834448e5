"""Service-level objectives: what the scenario demands, judged against what was measured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from battletui.metrics import LatencyStats, WsView
from battletui.metrics.answers import AnswerSummary
from battletui.scenario import SloSpec


@dataclass(frozen=True)
class SloResult:
    name: str
    target: float
    actual: float | None
    passed: bool | None
    unit: str
    """``ratio`` (0..1, higher is better), ``share`` (0..1), ``ms`` or ``count`` (lower is
    better)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SloResult:
        """Back from a ``slos[]`` entry of result.json (its keys are these fields)."""
        actual = data.get("actual")
        return cls(
            name=str(data["name"]),
            target=float(data["target"]),
            actual=None if actual is None else float(actual),
            passed=data.get("passed"),
            unit=str(data["unit"]),
        )

    def texts(self, *, pretty: bool = False) -> tuple[str, str]:
        """(actual, target) as people read them, e.g. ("99.75%", ">= 99.00%"): at one
        precision, fine enough that a failing figure never reads the same as its target."""
        if self.actual is None:
            return "—", f"{bound(self.unit, pretty=pretty)} {figure(self.target, self.unit)}"
        actual, target = figures(self.actual, self.target, self.unit)
        return actual, f"{bound(self.unit, pretty=pretty)} {target}"

    @property
    def target_text(self) -> str:
        return self.texts()[1]

    @property
    def actual_text(self) -> str:
        return self.texts()[0]


def bound(unit: str, *, pretty: bool = False) -> str:
    """How the target binds: a ratio is a floor (higher is better), the rest a ceiling."""
    if unit == "ratio":
        return "≥" if pretty else ">="
    return "≤" if pretty else "<="


def figure(value: float, unit: str, decimals: int | None = None) -> str:
    """A figure as people read it: ratio as %, ms with " ms", count as an integer."""
    if unit in ("ratio", "share"):
        return f"{value * 100:.{2 if decimals is None else decimals}f}%"
    if unit == "ms":
        return f"{value:.{1 if decimals is None else decimals}f} ms"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:g}"


def figures(actual: float, target: float, unit: str) -> tuple[str, str]:
    """Actual and target at one precision, fine enough that two different values never read
    the same (99.996% against a 100.00% target must not print as "100.00% < 100.00%")."""
    if unit not in ("ratio", "share", "ms"):
        return figure(actual, unit), figure(target, unit)
    decimals = 2 if unit in ("ratio", "share") else 1
    while True:
        shown = figure(actual, unit, decimals), figure(target, unit, decimals)
        if shown[0] != shown[1] or actual == target or decimals >= 6:
            return shown
        decimals += 1


def evaluate_slos(
    slo: SloSpec,
    *,
    success_rate: float | None,
    latency: LatencyStats,
    ws: WsView | None = None,
    answers: AnswerSummary | None = None,
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
    checked = answers is not None and answers.checked > 0
    if slo.stale_rate is not None:
        rate = answers.stale_rate if checked and answers is not None else None
        passed = None if rate is None else rate <= slo.stale_rate
        results.append(SloResult("stale_rate", slo.stale_rate, rate, passed, "share"))
    if slo.wrong_answers is not None:
        wrong = float(answers.wrong) if checked and answers is not None else None
        passed = None if wrong is None else wrong <= slo.wrong_answers
        results.append(SloResult("wrong_answers", float(slo.wrong_answers), wrong, passed, "count"))
    return tuple(results)
