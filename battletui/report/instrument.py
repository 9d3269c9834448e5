"""The load generator's own figures in the journal, in ``result.json`` and in plain words.

When the generator fell behind, the latency it recorded is its own delay: the outputs say so
under the verdict, and the verdict is ``inconclusive`` rather than a blame on the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

from battletui.metrics import InstrumentSummary, LatencyStats, decode_histogram
from battletui.metrics.instrument import (
    MIN_LATE,
    SENT_FLOOR,
    SLIP_LIMIT_MS,
    InstrumentSecond,
)

INCONCLUSIVE = "inconclusive"


def second_of(entry: Mapping[str, Any]) -> InstrumentSecond | None:
    """The generator's figures of one journal ``interval``; None in journals that predate them."""
    if "due" not in entry:
        return None
    cpu = entry.get("cpu_percent")
    return InstrumentSecond(
        index=int(entry["index"]),
        due=int(entry["due"]),
        sent=int(entry.get("sent", 0)),
        unsent=int(entry.get("unsent", 0)),
        clipped=int(entry.get("clipped", 0)),
        slip=_decoded(entry.get("slip")),
        loop_lag=_decoded(entry.get("loop_lag")),
        cpu_percent=None if cpu is None else float(cpu),
    )


def _decoded(encoded: Any) -> HdrHistogram | None:
    return decode_histogram(str(encoded)) if encoded else None


def _spread(stats: LatencyStats) -> dict[str, float] | None:
    if not stats.count:
        return None
    return {"p50": round(stats.p50, 3), "p99": round(stats.p99, 3), "max": round(stats.max, 3)}


def instrument_json(summary: InstrumentSummary) -> dict[str, Any]:
    """``result.json``'s ``instrument``; unknown figures (an old journal) are null."""
    if not summary.measured:
        return {
            "measured": False,
            "saturated": False,
            "behind_from_s": None,
            "behind_seconds": None,
            "slip_ms": None,
            "due": None,
            "sent": None,
            "unsent": None,
            "loop_lag_ms": None,
            "cpu_percent": None,
            "clipped": None,
        }
    cpu = None
    if summary.cpu_mean is not None and summary.cpu_max is not None:
        cpu = {"mean": round(summary.cpu_mean, 1), "max": round(summary.cpu_max, 1)}
    return {
        "measured": True,
        "saturated": summary.saturated,
        "behind_from_s": summary.behind_from,
        "behind_seconds": summary.behind_seconds,
        "slip_ms": _spread(summary.slip),
        "due": summary.due,
        "sent": summary.sent,
        "unsent": summary.unsent,
        "loop_lag_ms": _spread(summary.loop_lag),
        "cpu_percent": cpu,
        "clipped": summary.clipped,
    }


def fell_behind(instrument: Mapping[str, Any] | None, clock: Callable[[float], str]) -> str | None:
    """The plain sentence for a saturated session (None when the generator kept up)."""
    if not instrument or not instrument.get("saturated"):
        return None
    start = instrument.get("behind_from_s")
    if start is None:
        return "the load generator fell behind; its latency is not a measurement of the gateway"
    return (
        f"the load generator fell behind from {clock(float(start))};"
        " latency after that is not a measurement of the gateway"
    )


def why_behind(instrument: Mapping[str, Any]) -> str:
    """Which limit it broke, in figures: ``slip p99 12.3 ms > 5 ms · sent 97.0% of 6,000 due``."""
    reasons: list[str] = []
    slip = instrument.get("slip_ms")
    if slip and slip["p99"] > SLIP_LIMIT_MS:
        reasons.append(f"slip p99 {slip['p99']:,.1f} ms > {SLIP_LIMIT_MS:g} ms")
    due, sent = instrument.get("due") or 0, instrument.get("sent") or 0
    if due and sent < SENT_FLOOR * due:
        reasons.append(
            f"sent {sent / due * 100:.1f}% of {due:,} due (< {SENT_FLOOR * 100:g}%)"
            f" · {instrument.get('unsent') or 0:,} unsent"
        )
    return " · ".join(reasons)


def _ms(spread: Mapping[str, float] | None) -> str:
    if not spread:
        return "—"
    return f"p50 {spread['p50']:,.2f} · p99 {spread['p99']:,.2f} · max {spread['max']:,.2f}"


def render_instrument(
    instrument: Mapping[str, Any] | None, clock: Callable[[float], str]
) -> list[str]:
    """``report.md``'s short section on the generator itself (always there)."""
    parts = [
        "",
        "## The instrument",
        "",
        f"Whether the load generator kept its own schedule. When its slip (how late a request"
        f" left against its intended time) has a p99 above {SLIP_LIMIT_MS:g} ms (and"
        f" {MIN_LATE} requests at least were that late), or it sent fewer than"
        f" {SENT_FLOOR * 100:g}% of the requests due, the latency it records is its own delay,"
        " not the gateway's, and the verdict is inconclusive.",
        "",
    ]
    if not instrument or not instrument.get("measured"):
        parts.append(
            "Not recorded: this session's journal predates the generator's self-check"
            " (slip, event-loop lag, CPU, unsent and clipped requests)."
        )
        return parts
    behind = fell_behind(instrument, clock)
    seconds = int(instrument.get("behind_seconds") or 0)
    kept = f"⚠️ no: {behind} ({why_behind(instrument)})" if behind else "✅ yes"
    if seconds:
        kept += f" · {seconds:,} second{'s' if seconds != 1 else ''} behind"
    cpu = instrument.get("cpu_percent")
    rows = [
        ["kept up", kept],
        ["slip, ms", _ms(instrument.get("slip_ms"))],
        [
            "requests due · sent · unsent",
            f"{instrument['due']:,} · {instrument['sent']:,} · {instrument['unsent']:,}",
        ],
        ["event-loop lag, ms", _ms(instrument.get("loop_lag_ms"))],
        ["CPU, % of one core", f"mean {cpu['mean']:.0f} · max {cpu['max']:.0f}" if cpu else "—"],
        ["latencies above the histogram's ceiling (clipped)", f"{instrument['clipped']:,}"],
    ]
    lines = ["| measure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    parts += lines
    parts += [
        "",
        "Unsent requests count as failed requests (error `unsent`) and have no latency.",
    ]
    return parts
