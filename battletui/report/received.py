"""Traffic as the providers counted it: the share that holds for any gateway under test.

The journal's ``received`` entries are cumulative counts per provider (``{"requests": n,
"methods": {...}}``), about one a second, at offsets of their own. Totals come from the
last entry; the count of second ``t`` comes from the cumulative curve through the entries
(linear between them) at ``t`` and ``t + 1``, rounded at each boundary so that the seconds
add up to the total and an entry that came late does not fold two seconds into one.
Journals from before providers counted have no such entries: everything here is then None.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReceivedFigures:
    """``totals``: provider id -> ``{"requests", "methods"}``; ``per_second``: second ->
    provider id -> requests received in it."""

    totals: dict[str, dict[str, Any]]
    per_second: dict[int, dict[str, int]]


def _requests(entry: Mapping[str, Any], provider: str) -> int:
    counts = (entry.get("providers") or {}).get(provider) or {}
    return int(counts.get("requests", 0))


def received_figures(
    entries: Sequence[Mapping[str, Any]], providers: Iterable[str], seconds: Iterable[int]
) -> ReceivedFigures | None:
    """The figures of ``providers`` over ``seconds``, or None without any entry."""
    if not entries:
        return None
    ordered = sorted(entries, key=lambda e: float(e.get("offset", 0.0)))
    ids = list(providers)
    last = ordered[-1].get("providers") or {}
    totals: dict[str, dict[str, Any]] = {}
    for pid in ids:
        counts = last.get(pid) or {}
        methods = {str(k): int(v) for k, v in (counts.get("methods") or {}).items()}
        totals[pid] = {
            "requests": int(counts.get("requests", sum(methods.values()))),
            "methods": dict(sorted(methods.items())),
        }
    offsets = [float(e.get("offset", 0.0)) for e in ordered]
    curves = {pid: [_requests(e, pid) for e in ordered] for pid in ids}
    per_second: dict[int, dict[str, int]] = {}
    for second in seconds:
        per_second[second] = {
            pid: round(_at(offsets, curve, second + 1)) - round(_at(offsets, curve, second))
            for pid, curve in curves.items()
        }
    return ReceivedFigures(totals, per_second)


def _at(offsets: Sequence[float], counts: Sequence[int], t: float) -> float:
    """The cumulative count at offset ``t``: linear between entries, from 0 at offset 0,
    flat after the last entry."""
    right = bisect.bisect_right(offsets, t)
    if right > 0 and offsets[right - 1] == t:
        return float(counts[right - 1])
    if right >= len(offsets):
        return float(counts[-1])
    left_t, left_n = (offsets[right - 1], counts[right - 1]) if right > 0 else (0.0, 0)
    span = offsets[right] - left_t
    if span <= 0:
        return float(counts[right])
    return left_n + (counts[right] - left_n) * (t - left_t) / span


def received_json(figures: ReceivedFigures | None, provider: str) -> dict[str, Any] | None:
    """``providers.<id>.received`` in result.json: ``requests``, ``share`` (of everything
    the providers received), ``methods``; None for a journal without counts."""
    if figures is None:
        return None
    total = sum(t["requests"] for t in figures.totals.values())
    mine = figures.totals.get(provider) or {"requests": 0, "methods": {}}
    return {
        "requests": mine["requests"],
        "share": round(mine["requests"] / total, 4) if total else 0.0,
        "methods": mine["methods"],
    }
