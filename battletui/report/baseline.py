"""Comparing a session's ``result.json`` against a baseline one, with regressions flagged.

Pure functions: :func:`load_baseline` is the only one that touches the disk.

What is compared, and when a figure *regresses* (``tolerance`` is a fraction, 0.10 = 10%):

* ``http.latency_ms.corrected.{p50,p95,p99,p999,max}`` and ``http.latency_ms.uncorrected.p95``
  (ms): ``now > baseline * (1 + tolerance)`` **and** ``now - baseline > 2 ms``. The absolute
  noise floor keeps sub-millisecond jitter on a fast mock from ever flagging. A percentile is
  judged only when both sessions have at least ``MIN_BEYOND`` requests beyond it (p50 needs
  20 requests, p95 200, p99 1,000, p99.9 10,000): a tail that rests on a request or two is
  the machine's noise, not the gateway's (two identical 4 s replays differed by 56 % in
  their p99.9 on a busy runner). ``max`` is one request in any session: listed, never judged.
* ``failovers.latency_ms.p95`` (ms), only when both sessions failed over at least one request
  (``failovers.latency_ms.count > 0``): as latency, 2 ms floor, judged from 200 failed-over
  requests on each side.
* ``http.success_rate`` (ratio): judged on the *error* rate ``1 - success``, which must grow by
  more than ``tolerance`` relative **and** by more than 0.1 percentage point (100% → 99.95%
  holds, 99.9% → 98% regresses).
* ``http.achieved_rate`` (req/s): ``now < baseline * (1 - tolerance)`` **and**
  ``baseline - now > 0.5 req/s`` (a floor for wall-clock jitter): the load was not delivered.
* ``ws.gaps``, ``ws.duplicates``, ``ws.broken_links`` (count): **any** increase. Stream
  continuity is binary; one gap more is a broken promise, whatever the tolerance.
* ``ws.max_stall_ms`` (ms): as latency, with a 50 ms floor.
* ``http.requests``, ``http.failovers`` (count): listed for context, never regress.

A baseline of a different system under test (``target``: the reference gateway against an
external one, or two external URLs; a result without ``target`` is the reference gateway) is
still compared, figure by figure, but never silently: ``target_mismatch`` is set and the
report and the summary say so in one line. It does not fail the run by itself — comparing
your gateway with the reference one is a fair question — only regressions do.

"More than" is strict everywhere: a figure exactly at its threshold does not regress.

A figure present on only one side is listed with ``None`` on the other and never regresses; a
figure absent on both sides (no WebSocket load in either, no failed-over request in either, an
older result without the field) is left out. Latency percentiles of an empty histogram
(``count == 0``) count as absent.

``FigureComparison.change`` per unit:

* ``ms`` and ``req/s``: relative change ``now / baseline - 1`` (``0.124`` = +12.4%); ``None``
  when the baseline is 0 (``change_text`` then shows the absolute difference, ``+5.0 ms``).
* ``ratio``: absolute difference ``now - baseline`` of the ratio (``-0.019`` = -1.9 pt).
* ``count``: absolute difference ``now - baseline``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battletui.report.target import same_target, target_name, target_of_result

LATENCY_FLOOR_MS = 2.0
"""A latency must rise by more than this, as well as by the tolerance, to regress."""
STALL_FLOOR_MS = 50.0
"""The longest WebSocket stall must rise by more than this, as well as by the tolerance."""
ERROR_RATE_FLOOR = 0.001
"""The error rate must grow by more than this (0.1 percentage point), as well as relatively."""
RATE_FLOOR = 0.5
"""The achieved rate must drop by more than this many req/s, as well as by the tolerance."""
MIN_BEYOND = 10
"""A latency percentile is judged only when both sessions have this many requests beyond it."""

_EPSILON = 1e-9


@dataclass(frozen=True)
class FigureComparison:
    figure: str
    """Stable id: the figure's path in ``result.json``, e.g. ``http.latency_ms.corrected.p95``."""
    label: str
    """For people, e.g. ``p95 latency (corrected)``."""
    unit: str
    """``ms``, ``ratio``, ``count`` or ``req/s``."""
    baseline: float | None
    now: float | None
    change: float | None
    """Relative for ``ms`` and ``req/s``, absolute for ``ratio`` and ``count`` (module doc)."""
    change_text: str
    """For people: ``+12.4%``, ``-1.9 pt``, ``+2``; ``—`` when a side is missing."""
    regressed: bool
    why: str
    """One short sentence when ``regressed``, else empty."""
    unjudged: str = ""
    """Why the figure is listed but not judged (too few requests beyond a percentile)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "label": self.label,
            "unit": self.unit,
            "baseline": self.baseline,
            "now": self.now,
            "change": self.change,
            "change_text": self.change_text,
            "regressed": self.regressed,
            "why": self.why,
            "unjudged": self.unjudged,
        }


@dataclass(frozen=True)
class BaselineComparison:
    baseline_file: str
    tolerance: float
    """A fraction: 0.10 for 10%."""
    figures: tuple[FigureComparison, ...]
    target_note: str = ""
    """One line when the baseline measured a different system under test, else empty."""

    @property
    def target_mismatch(self) -> bool:
        return bool(self.target_note)

    @property
    def regressions(self) -> tuple[FigureComparison, ...]:
        return tuple(f for f in self.figures if f.regressed)

    def to_json(self) -> dict[str, Any]:
        """The ``baseline`` object of ``result.json``."""
        return {
            "file": self.baseline_file,
            "tolerance": self.tolerance,
            "regressions": [
                {k: v for k, v in f.to_json().items() if k not in ("regressed", "unjudged")}
                for f in self.regressions
            ],
            "figures": [f.to_json() for f in self.figures],
            "target_mismatch": self.target_mismatch,
            "target_note": self.target_note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineComparison:
        """Back from ``result.json``'s ``baseline`` object (the report renders from it)."""
        return cls(
            baseline_file=str(data["file"]),
            tolerance=float(data["tolerance"]),
            figures=tuple(
                FigureComparison(
                    figure=str(f["figure"]),
                    label=str(f["label"]),
                    unit=str(f["unit"]),
                    baseline=f["baseline"],
                    now=f["now"],
                    change=f["change"],
                    change_text=str(f["change_text"]),
                    regressed=bool(f["regressed"]),
                    why=str(f.get("why", "")),
                    unjudged=str(f.get("unjudged") or ""),
                )
                for f in data.get("figures", [])
            ),
            target_note=str(data.get("target_note") or ""),
        )


def against_baseline(
    baseline: Mapping[str, Any], *, tolerance: float, baseline_file: str
) -> Callable[[dict[str, Any]], None]:
    """A result decorator: adds ``baseline`` and fails the verdict on any regression (an
    inconclusive verdict stays so: a generator that fell behind measured itself)."""

    def decorate(result: dict[str, Any]) -> None:
        comparison = compare(result, baseline, tolerance=tolerance, baseline_file=baseline_file)
        result["baseline"] = comparison.to_json()
        if comparison.regressions and result.get("verdict") != "inconclusive":
            result["verdict"] = "fail"

    return decorate


# --------------------------------------------------------------------------- tolerance


def parse_tolerance(text: str) -> float:
    """``"10%"`` → 0.10. A bare number below 1 is a fraction, 1 or more is a percent.

    So ``"0.1"``, ``"10"`` and ``"10%"`` all mean 10%, and ``"1"`` means 1%. Zero is allowed
    (only the noise floors remain); negative, infinite or non-numeric values raise
    :class:`ValueError` with a one-line message.
    """
    raw = text.strip()
    percent = raw.endswith("%")
    number_text = raw[:-1].strip() if percent else raw
    try:
        number = float(number_text)
    except ValueError:
        raise ValueError(f"tolerance {text!r} is not a number; write it like 10% or 0.1") from None
    if not math.isfinite(number):
        raise ValueError(f"tolerance {text!r} must be a finite number, like 10% or 0.1")
    if number < 0:
        raise ValueError(f"tolerance {text!r} must not be negative")
    if percent or number >= 1:
        return number / 100
    return number


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


# --------------------------------------------------------------------------- loading


def load_baseline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a baseline ``result.json`` (or a session folder holding one).

    Raises :class:`ValueError` with a one-line message when the file is missing, unreadable,
    not JSON or not a battletui result.
    """
    where = Path(path)
    if where.is_dir():
        inside = where / "result.json"
        if not inside.is_file():
            raise ValueError(f"baseline {where}: a folder without a result.json")
        where = inside
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"baseline {where}: no such file") from None
    except UnicodeDecodeError:
        raise ValueError(f"baseline {where}: not JSON (not UTF-8 text)") from None
    except OSError as exc:
        raise ValueError(f"baseline {where}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"baseline {where}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or "schema" not in data or not isinstance(data.get("http"), dict):
        raise ValueError(
            f'baseline {where}: not a battletui result.json (no "schema" and "http" fields)'
        )
    return data


# --------------------------------------------------------------------------- reading figures


def _get(data: Mapping[str, Any] | None, *keys: str) -> Any:
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _latency(data: Mapping[str, Any], *keys: str) -> float | None:
    """A percentile from a latency block, or None when the block is absent or empty."""
    block = _get(data, *keys[:-1])
    if not isinstance(block, Mapping):
        return None
    count = _number(block.get("count"))
    if count is not None and count <= 0:
        return None
    return _number(block.get(keys[-1]))


def _plain(*keys: str) -> Callable[[Mapping[str, Any]], float | None]:
    return lambda data: _number(_get(data, *keys))


def _percentile(*keys: str) -> Callable[[Mapping[str, Any]], float | None]:
    return lambda data: _latency(data, *keys)


# --------------------------------------------------------------------------- formatting


def _signed(value: float, decimals: int, suffix: str = "") -> str:
    if round(value, decimals) == 0:
        return f"{0:.{decimals}f}{suffix}"
    return f"{value:+.{decimals}f}{suffix}"


def format_value(value: float | None, unit: str) -> str:
    """A figure for people: ``56.1 ms``, ``99.90%``, ``3,000``, ``99.99 req/s``; ``—`` if None."""
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit in ("ratio", "share"):
        return f"{value * 100:.2f}%"
    if unit == "req/s":
        return f"{value:,.2f} req/s"
    return f"{value:,.0f}"


def _points(difference: float) -> str:
    points = difference * 100
    return _signed(points, 2 if abs(points) < 0.995 else 1, " pt")


def _relative(baseline: float, now: float) -> float | None:
    return now / baseline - 1 if baseline != 0 else None


def _relative_text(baseline: float, now: float, unit: str) -> str:
    relative = _relative(baseline, now)
    if relative is not None:
        return _signed(relative * 100, 1, "%")
    return _signed(now - baseline, 1 if unit == "ms" else 2, f" {unit}")


def _more_than(value: float, limit: float) -> bool:
    """``value > limit``, ignoring float noise, so a figure exactly at a threshold holds."""
    return value - limit > _EPSILON * max(1.0, abs(limit))


# --------------------------------------------------------------------------- rules

Rule = Callable[[str, float, float, float], tuple[float | None, str, str]]
"""(label, baseline, now, tolerance) → (change, change_text, why; empty when it held)."""


def _rising(floor: float) -> Rule:
    """Lower is better: regress above ``baseline * (1 + tolerance)`` and ``baseline + floor``."""

    def rule(
        label: str, baseline: float, now: float, tolerance: float
    ) -> tuple[float | None, str, str]:
        change = _relative(baseline, now)
        text = _relative_text(baseline, now, "ms")
        regressed = _more_than(now, baseline * (1 + tolerance)) and _more_than(
            now - baseline, floor
        )
        why = ""
        if regressed:
            rise = f"{change * 100:.1f}%" if change is not None else f"from {baseline:g} ms"
            why = (
                f"{label} rose {rise} (+{now - baseline:,.1f} ms; "
                f"tolerance {_percent(tolerance)}, floor {floor:g} ms)"
            )
        return change, text, why

    return rule


def _success(
    label: str, baseline: float, now: float, tolerance: float
) -> tuple[float | None, str, str]:
    change = now - baseline
    errors_before, errors_now = 1 - baseline, 1 - now
    regressed = _more_than(errors_now, errors_before * (1 + tolerance)) and _more_than(
        errors_now - errors_before, ERROR_RATE_FLOOR
    )
    why = ""
    if regressed:
        why = (
            f"{label} fell {_points(-change).lstrip('+')}: errors "
            f"{errors_before * 100:.2f}% → {errors_now * 100:.2f}% "
            f"(tolerance {_percent(tolerance)}, floor {ERROR_RATE_FLOOR * 100:g} pt)"
        )
    return change, _points(change), why


def _rate(
    label: str, baseline: float, now: float, tolerance: float
) -> tuple[float | None, str, str]:
    change = _relative(baseline, now)
    text = _relative_text(baseline, now, "req/s")
    regressed = _more_than(baseline * (1 - tolerance), now) and _more_than(
        baseline - now, RATE_FLOOR
    )
    why = ""
    if regressed and change is not None:
        why = (
            f"{label} fell {-change * 100:.1f}% to {now:,.2f} req/s, the load was not "
            f"delivered (tolerance {_percent(tolerance)})"
        )
    return change, text, why


def _any_increase(
    label: str, baseline: float, now: float, tolerance: float
) -> tuple[float | None, str, str]:
    change = now - baseline
    why = ""
    if _more_than(now, baseline):
        why = f"{label} rose from {baseline:,.0f} to {now:,.0f} (any increase counts)"
    return change, _signed(change, 0), why


def _context(
    label: str, baseline: float, now: float, tolerance: float
) -> tuple[float | None, str, str]:
    change = now - baseline
    return change, _signed(change, 0), ""


@dataclass(frozen=True)
class _Figure:
    figure: str
    label: str
    unit: str
    read: Callable[[Mapping[str, Any]], float | None]
    rule: Rule
    beyond: float | None = None
    """For a percentile, the share of requests beyond it (0.05 for p95, 0 for max)."""
    counted: Callable[[Mapping[str, Any]], float | None] | None = None
    """How many requests the percentile's histogram holds."""

    def unjudged(self, *sides: Mapping[str, Any]) -> str:
        """Why this percentile cannot be judged between ``sides``; empty when it can."""
        if self.beyond is None or self.counted is None:
            return ""
        if self.beyond <= 0:
            return "one request: never judged"
        needed = math.ceil(MIN_BEYOND / self.beyond - _EPSILON)
        if all((self.counted(side) or 0) >= needed for side in sides):
            return ""
        return f"too few requests to judge (needs {needed:,})"


_BEYOND = {"p50": 0.5, "p95": 0.05, "p99": 0.01, "p999": 0.001, "max": 0.0}


_LATENCY = _rising(LATENCY_FLOOR_MS)

FIGURES: tuple[_Figure, ...] = (
    *(
        _Figure(
            f"http.latency_ms.corrected.{p}",
            f"{name} latency (corrected)",
            "ms",
            _percentile("http", "latency_ms", "corrected", p),
            _LATENCY,
            _BEYOND[p],
            _plain("http", "latency_ms", "corrected", "count"),
        )
        for p, name in (
            ("p50", "p50"),
            ("p95", "p95"),
            ("p99", "p99"),
            ("p999", "p99.9"),
            ("max", "max"),
        )
    ),
    _Figure(
        "http.latency_ms.uncorrected.p95",
        "p95 latency (uncorrected)",
        "ms",
        _percentile("http", "latency_ms", "uncorrected", "p95"),
        _LATENCY,
        _BEYOND["p95"],
        _plain("http", "latency_ms", "uncorrected", "count"),
    ),
    _Figure("http.success_rate", "success rate", "ratio", _plain("http", "success_rate"), _success),
    _Figure("http.achieved_rate", "achieved rate", "req/s", _plain("http", "achieved_rate"), _rate),
    _Figure(
        "failovers.latency_ms.p95",
        "p95 latency of failed-over requests",
        "ms",
        _percentile("failovers", "latency_ms", "p95"),
        _LATENCY,
        _BEYOND["p95"],
        _plain("failovers", "latency_ms", "count"),
    ),
    _Figure("ws.gaps", "WebSocket gaps", "count", _plain("ws", "gaps"), _any_increase),
    _Figure(
        "ws.duplicates", "WebSocket duplicates", "count", _plain("ws", "duplicates"), _any_increase
    ),
    _Figure(
        "ws.broken_links",
        "WebSocket broken links",
        "count",
        _plain("ws", "broken_links"),
        _any_increase,
    ),
    _Figure(
        "ws.max_stall_ms",
        "longest WebSocket stall",
        "ms",
        _plain("ws", "max_stall_ms"),
        _rising(STALL_FLOOR_MS),
    ),
    _Figure("http.requests", "requests", "count", _plain("http", "requests"), _context),
    _Figure("http.failovers", "failovers", "count", _plain("http", "failovers"), _context),
)
"""Every compared figure, in report order."""


# --------------------------------------------------------------------------- comparing


def compare(
    result: Mapping[str, Any],
    baseline: Mapping[str, Any],
    *,
    tolerance: float,
    baseline_file: str,
) -> BaselineComparison:
    """Compare ``result`` (this session) against ``baseline``; see the module doc for the rules."""
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance {tolerance!r} must be a finite fraction >= 0")
    figures: list[FigureComparison] = []
    for spec in FIGURES:
        before, now = spec.read(baseline), spec.read(result)
        if before is None and now is None:
            continue
        if before is None or now is None:
            figures.append(
                FigureComparison(
                    spec.figure, spec.label, spec.unit, before, now, None, "—", False, ""
                )
            )
            continue
        change, text, why = spec.rule(spec.label, before, now, tolerance)
        change = None if change is None else round(change, 6)
        unjudged = spec.unjudged(baseline, result)
        if unjudged:
            why = ""
        figures.append(
            FigureComparison(
                spec.figure,
                spec.label,
                spec.unit,
                before,
                now,
                change,
                text,
                bool(why),
                why,
                unjudged,
            )
        )
    return BaselineComparison(
        baseline_file, tolerance, tuple(figures), target_note=mismatch_note(result, baseline)
    )


def mismatch_note(result: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """One line when the two results measured different systems under test, else empty."""
    if same_target(result, baseline):
        return ""
    return (
        f"different systems under test: this run measured "
        f"{target_name(target_of_result(result))}, the baseline "
        f"{target_name(target_of_result(baseline))}"
    )


# --------------------------------------------------------------------------- report.md

_CONTEXT = frozenset(f.figure for f in FIGURES if f.rule is _context)


def _verdict_cell(figure: FigureComparison) -> str:
    if figure.regressed:
        return "❌ regression"
    if figure.baseline is None:
        return "— not in the baseline"
    if figure.now is None:
        return "— not in this session"
    if figure.figure in _CONTEXT:
        return "— context"
    if figure.unjudged:
        return f"— {figure.unjudged}"
    return "✅"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(comparison: BaselineComparison) -> list[str]:
    """The ``## Against the baseline`` section of ``report.md``, as lines, regressions first."""
    regressions = comparison.regressions
    tolerance = _percent(comparison.tolerance)
    source = f"`{comparison.baseline_file}`"
    if regressions:
        noun = "regression" if len(regressions) == 1 else "regressions"
        summary = f"**❌ {len(regressions)} {noun}** against {source} (tolerance {tolerance})."
    else:
        summary = f"**✅ No regressions** against {source} (tolerance {tolerance})."
    rows = [*regressions, *(f for f in comparison.figures if not f.regressed)]
    lines = [
        "## Against the baseline",
        "",
        summary,
        "",
        *([f"⚠️ {comparison.target_note}.", ""] if comparison.target_note else []),
        "| figure | baseline | now | change | result |",
        "|---|---|---|---|---|",
    ]
    lines += [
        "| "
        + " | ".join(
            _cell(cell)
            for cell in (
                f.label,
                format_value(f.baseline, f.unit),
                format_value(f.now, f.unit),
                f.change_text,
                _verdict_cell(f),
            )
        )
        + " |"
        for f in rows
    ]
    if regressions:
        lines.append("")
        lines += [f"- ❌ {figure.why}" for figure in regressions]
    lines += [
        "",
        f"A figure regresses when it is worse by more than the tolerance and by more than its "
        f"noise floor ({LATENCY_FLOOR_MS:g} ms for latency, {STALL_FLOOR_MS:g} ms for the "
        f"longest stall, {ERROR_RATE_FLOOR * 100:g} pt of errors, {RATE_FLOOR:g} req/s of "
        f"achieved rate); WebSocket gaps, duplicates and broken links regress on any increase. "
        f"A latency percentile is judged when both sessions have at least {MIN_BEYOND} "
        f"requests beyond it; the maximum, one request, never is.",
    ]
    return lines
