"""``report.md``: the session for people. Verdict and SLOs first, then the evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from battletui.metrics.sparkline import sparkline
from battletui.report.baseline import BaselineComparison
from battletui.report.baseline import render_markdown as render_baseline
from battletui.report.charts import downsample, mermaid_line_chart
from battletui.report.instrument import fell_behind, render_instrument, why_behind
from battletui.report.slo import SloResult
from battletui.report.target import describe_target, target_of_result
from battletui.scenario import Action, clock_tenths, format_duration

CHART_POINTS = 60
VERDICT_ICONS = {"pass": "✅ PASS", "inconclusive": "⚠️ INCONCLUSIVE"}


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_report(result: Mapping[str, Any]) -> str:
    """``report.md`` for one session's result; a lab session's reads differently (nothing of
    it was judged)."""
    if result.get("load", True) is False:
        return _render_lab(result)
    parts: list[str] = [
        *_headline(result),
        "",
        "## SLOs",
        "",
        _slo_table(result["slos"]),
    ]
    baseline = result.get("baseline")
    if baseline:
        parts += ["", *render_baseline(BaselineComparison.from_json(baseline))]
    parts += _latency_section(result)
    parts += _traffic_section(result)
    parts += _providers_section(result["providers"])
    parts.append(_breaker_timeline(result["providers"], "No breaker changed state."))
    parts += _impacts(result.get("fault_impacts") or [])
    parts += _websocket(result.get("ws"))
    parts += _actions_section(result["actions"])
    parts += ["", "## Over time", "", *_charts(result["series"])]
    parts += ["", "## Replay", "", "From this session's folder:", ""]
    parts += _replay_command(result["scenario_file"])
    return "\n".join(parts)


def _headline(result: Mapping[str, Any]) -> list[str]:
    """Title, verdict with what it rests on, and the system under test."""
    http = result["http"]
    slos = result["slos"]
    passed = sum(1 for s in slos if s["passed"])
    icon = VERDICT_ICONS.get(result["verdict"], "❌ FAIL")
    baseline = result.get("baseline")
    regressions = len(baseline["regressions"]) if baseline else 0
    against = ""
    if baseline:
        against = (
            f"{regressions} regression{'s' if regressions != 1 else ''} against the baseline · "
        )
    return [
        f"# battletui · {result['scenario']}",
        "",
        f"**Verdict: {icon}** — {passed} of {len(slos)} SLOs held · {against}"
        f"{format_duration(result['duration_s'])} · {http['requests']:,} requests · "
        f"ended: {result['end_reason']} · started {result['started_at']}",
        *_inconclusive(result),
        "",
        f"System under test: {describe_target(target_of_result(result))}",
    ]


def _slo_table(slos: Sequence[Mapping[str, Any]]) -> str:
    if not slos:
        return "No SLOs set in the scenario; the verdict is a pass by default."
    return _table(
        ["SLO", "target", "actual", "result"],
        [
            [
                s["name"],
                *reversed(SloResult.from_json(s).texts(pretty=True)),
                "✅ pass" if s["passed"] else "❌ fail",
            ]
            for s in slos
        ],
    )


def _latency_section(result: Mapping[str, Any]) -> list[str]:
    """The whole session's percentiles, both ways of measuring, then per phase."""
    latency = result["http"]["latency_ms"]
    return [
        "",
        "## Latency (ms)",
        "",
        _table(
            ["measured from", "p50", "p95", "p99", "p99.9", "max"],
            [
                [label, *(_ms(latency[key][p]) for p in ("p50", "p95", "p99", "p999", "max"))]
                for label, key in (
                    ("intended send (corrected)", "corrected"),
                    ("actual send (uncorrected)", "uncorrected"),
                )
            ],
        ),
        "",
        "Corrected latency counts from when the open-model schedule meant to send each request,"
        " so a stall shows in the tail instead of hiding (coordinated omission).",
        *_phases(result.get("phases") or []),
    ]


def _traffic_section(result: Mapping[str, Any]) -> list[str]:
    """What was sent and how it went: rates, successes, errors, failovers, the instrument,
    the answers."""
    http = result["http"]
    success = http["success_rate"]
    return [
        "",
        "## Traffic",
        "",
        _rates(http),
        f"- success rate {'—' if success is None else f'{success * 100:.3f}%'}"
        f" ({http['ok']:,} of {http['requests']:,})",
        f"- errors: {_errors(http['errors'])}",
        f"- failovers (a request retried on another provider): {http['failovers']:,}",
        *_failovers(result.get("failovers")),
        *render_instrument(result.get("instrument"), clock_tenths),
        *_answers(http.get("answers")),
    ]


def _providers_section(providers: Mapping[str, Any]) -> list[str]:
    """Each provider's traffic as the gateway and as the provider counted it; the breaker
    timeline's heading (the timeline follows)."""
    return [
        "",
        "## Providers",
        "",
        _table(
            [
                "provider",
                "requests served",
                "share",
                "received",
                "failed over away",
                "breaker transitions",
            ],
            [
                [
                    pid,
                    f"{p['requests']:,}",
                    f"{p['share'] * 100:.1f}%",
                    _received(p.get("received")),
                    f"{p.get('failovers_away', 0):,}",
                    str(len(p["transitions"])),
                ]
                for pid, p in providers.items()
            ],
        ),
        *_received_note(providers),
        "",
        "### Breaker timeline",
        "",
    ]


def _actions_section(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every action as applied (both kinds of session have them)."""
    if not actions:
        return ["", "## Actions", "", "No actions were applied."]
    table = _table(
        ["at", "action", "from", "applied", "verified by"],
        [
            [
                clock_tenths(a["offset"]),
                Action(a["kind"], a["target"], a["params"]).describe(),
                a["source"],
                "✅" if a["applied"] else "❌",
                "operator note"
                if a["kind"] == "mark"
                else (a["detail"] if a["applied"] else (a["error"] or "")),
            ]
            for a in actions
        ],
    )
    return ["", "## Actions", "", table]


def _replay_command(scenario_file: str) -> list[str]:
    return ["```sh", f"battletui replay {scenario_file}", "```", ""]


def _render_lab(result: Mapping[str, Any]) -> str:
    """``battletui lab``: the load came from outside, so nothing is judged and there is no
    latency of ours; what the providers received, the breakers and the faults remain."""
    providers = result["providers"]
    parts: list[str] = [
        f"# battletui · {result['scenario']} (lab)",
        "",
        f"**Lab session: nothing judged** — battletui sent no load (the traffic came from "
        f"outside) · {format_duration(result['duration_s'])} · ended: {result['end_reason']}"
        f" · started {result['started_at']}",
        "",
        f"System under test: {describe_target(target_of_result(result))}",
        "",
        "## Providers",
        "",
        _table(
            ["provider", "received", "breaker transitions"],
            [
                [pid, _received(p.get("received")), str(len(p["transitions"]))]
                for pid, p in providers.items()
            ],
        ),
        "",
        "*Received* is what each provider itself counted (JSON-RPC requests, batch members one "
        "by one, the gateway's retries and its own probes included).",
        "",
        "### Breaker timeline",
        "",
    ]
    parts.append(
        _breaker_timeline(providers, "No breaker changed state (or nothing observed the breakers).")
    )
    parts += _impacts(result.get("fault_impacts") or [])
    parts += _actions_section(result["actions"])
    parts += ["", "## Received per second", "", *_received_charts(result["series"], providers)]
    parts += [
        "",
        "## Replay with load",
        "",
        "The recording keeps the scenario file's workload and SLOs, with the actions of this "
        "session at the moments they were applied. From this session's folder:",
        "",
        *_replay_command(result["scenario_file"]),
    ]
    return "\n".join(parts)


def _received_charts(
    series: Sequence[Mapping[str, Any]], providers: Mapping[str, Any]
) -> list[str]:
    if not series or not any(s.get("received") for s in series):
        return ["No complete second was measured."]
    lines = ["```text"]
    width = max(len(pid) for pid in providers)
    step = 1.0
    for pid in providers:
        counts = [float((s.get("received") or {}).get(pid, 0)) for s in series]
        points = downsample(counts, CHART_POINTS)
        step = len(counts) / len(points)
        lines.append(f"{pid:<{width}} {sparkline(points)}  max {max(points):.0f}/s")
    lines.append("```")
    mark = f"one mark per {step:.0f}s" if step > 1 else "one mark per second"
    return [f"Requests each provider received ({mark}):", "", *lines]


PERCENTILES = ("p50", "p95", "p99", "p999", "max")


def _inconclusive(result: Mapping[str, Any]) -> list[str]:
    """Right under the verdict: the generator fell behind, so the figures measure it."""
    instrument = result.get("instrument")
    behind = fell_behind(instrument, clock_tenths)
    if not behind or not instrument:
        return []
    slo = "✅ pass" if result.get("slo_verdict") == "pass" else "❌ fail"
    return [
        "",
        f"> ⚠️ **Inconclusive:** {behind} ({why_behind(instrument)}). The SLOs below ({slo} as"
        " measured) judge the generator's own delays too; see *The instrument*.",
    ]


def _received(received: Mapping[str, Any] | None) -> str:
    """The share of traffic measured at the provider, and its count; — when not counted."""
    if not received:
        return "—"
    return f"{received['share'] * 100:.1f}% ({received['requests']:,})"


def _received_note(providers: Mapping[str, Any]) -> list[str]:
    if not any(p.get("received") for p in providers.values()):
        return []
    return [
        "",
        "*Served* and its share are what the gateway said (`X-Upstream`); *received* is what"
        " each provider itself counted (JSON-RPC requests, batch members one by one, retries"
        " and the gateway's own probes included), so it holds for any gateway.",
    ]


def _breaker_timeline(providers: Mapping[str, Any], none: str) -> str:
    """Every breaker transition by time, then provider (two at one moment keep their order:
    a transition is a mapping, which does not sort)."""
    transitions = sorted(
        ((t["offset"], pid, t) for pid, p in providers.items() for t in p["transitions"]),
        key=lambda item: (item[0], item[1]),
    )
    if not transitions:
        return none
    return _table(
        ["at", "provider", "change", "why"],
        [
            [clock_tenths(off), pid, f"{t['from']} → {t['to']}", t["reason"]]
            for off, pid, t in transitions
        ],
    )


def _window(phase: Mapping[str, Any]) -> str:
    return f"{clock_tenths(phase['start_s'])} to {clock_tenths(phase['end_s'])}"


def _held(phase: Mapping[str, Any]) -> str:
    """``✔ held``, ``✘ p95, success_rate`` (the ones that broke) or ``—`` (nothing judged)."""
    held = phase.get("slos_held")
    if held is None:
        return "—"
    if held:
        return "✔ held"
    broken = [slo["name"] for slo in phase.get("slos") or [] if slo.get("passed") is False]
    return f"✘ {', '.join(broken)}"


def _phase_rows(
    phases: Sequence[Mapping[str, Any]], key: str, *, slos: bool = False
) -> list[list[str]]:
    rows = []
    for phase in phases:
        latency = phase["latency_ms"][key]
        success = phase["success_rate"]
        cells = [_ms(latency[p]) for p in PERCENTILES] if latency["count"] else ["—"] * 5
        rows.append(
            [
                phase["label"],
                _window(phase),
                f"{phase['requests']:,}",
                "—" if success is None else f"{success * 100:.2f}%",
                *cells,
                *([_held(phase)] if slos else []),
            ]
        )
    return rows


def _phases(phases: Sequence[Mapping[str, Any]]) -> list[str]:
    if len(phases) < 2:
        return []
    header = ["phase", "window", "requests", "ok", "p50", "p95", "p99", "p99.9", "max"]
    return [
        "",
        "### Latency per phase (corrected, ms)",
        "",
        "The session cut at every action: what each fault cost, and how well it recovered."
        " Measured in whole seconds: each second counts in the phase it mostly falls in (a"
        " phase shorter than a second is left out). **SLOs** says whether the scenario's HTTP"
        " and answer SLOs held within the phase alone; the WebSocket ones are judged over the"
        " whole session.",
        "",
        _table([*header, "SLOs"], _phase_rows(phases, "corrected", slos=True)),
        "",
        "<details><summary>Uncorrected (from the actual send), ms</summary>",
        "",
        _table(header, _phase_rows(phases, "uncorrected")),
        "",
        "</details>",
    ]


def _seconds(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1f} s"


def _impacts(impacts: Sequence[Mapping[str, Any]]) -> list[str]:
    if not impacts:
        return []
    return [
        "",
        "### What each fault did to the breaker",
        "",
        _table(
            ["fault", "at", "breaker opened after", "open for", "restored", "closed again after"],
            [
                [
                    i["fault"],
                    clock_tenths(i["at"]),
                    _seconds(i["opened_after_s"], "never opened"),
                    _seconds(
                        i["open_for_s"],
                        "—" if i["opened_after_s"] is None else "still open at the end",
                    ),
                    "—" if i["restored_at"] is None else clock_tenths(i["restored_at"]),
                    _seconds(i["recovered_after_s"], "—"),
                ]
                for i in impacts
            ],
        ),
    ]


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole * 100:.2f}%)" if whole else f"{part:,}"


def _answers(answers: Mapping[str, Any] | None) -> list[str]:
    """Answers judged against the canonical chain, by method and by who served them."""
    if not answers or not answers.get("checked"):
        return []
    checked, stale, wrong = answers["checked"], answers["stale"], answers["wrong"]
    tolerance = answers.get("stale_blocks")
    behind = "the tolerance" if tolerance is None else f"{tolerance} blocks"
    lines = [
        "",
        "## Answers checked against the chain",
        "",
        f"{checked:,} answers were compared with the mock chain's canonical state when each"
        f" request left: **{_share(stale, checked)} stale** (more than {behind} behind"
        f" the head), **{_share(wrong, checked)} wrong** (not the canonical chain, or only a"
        " branch a reorg replaced).",
    ]
    if not stale and not wrong:
        return lines
    for title, key in (("method", "by_method"), ("upstream", "by_upstream")):
        rows = [
            [
                name,
                f"{c['checked']:,}",
                _share(c["stale"], c["checked"]),
                _share(c["wrong"], c["checked"]),
            ]
            for name, c in answers.get(key, {}).items()
            if c["stale"] or c["wrong"]
        ]
        if rows:
            lines += ["", _table([title, "checked", "stale", "wrong"], rows)]
    return lines


def _requests_were(count: int) -> str:
    return "1 request was" if count == 1 else f"{count:,} requests were"


def _failovers(failovers: Mapping[str, Any] | None) -> list[str]:
    if not failovers or not failovers.get("requests"):
        return []
    client = failovers["latency_ms"]
    cost = failovers["cost_ms"]
    return [
        f"  - {_requests_were(failovers['requests'])} answered after a failover; as the client"
        f" saw them: p50 {_ms(client['p50'])} · p95 {_ms(client['p95'])} ·"
        f" p99 {_ms(client['p99'])} · max {_ms(client['max'])} ms",
        f"  - time the gateway lost on the failed attempts first: p50 {_ms(cost['p50'])} ·"
        f" p95 {_ms(cost['p95'])} · max {_ms(cost['max'])} ms",
    ]


def _websocket(ws: Mapping[str, Any] | None) -> list[str]:
    if not ws:
        return []
    rows = [
        ["subscribers", f"{ws['subscribers']:,}"],
        ["heads received (all subscribers)", f"{ws['heads']:,}"],
        ["gaps (missing blocks)", f"{ws['gaps']:,} ({ws['missing_blocks']:,})"],
        ["duplicates", f"{ws['duplicates']:,}"],
        ["reorgs", f"{ws['reorgs']:,}"],
        ["broken links", f"{ws['broken_links']:,}"],
        ["longest stall between heads", f"{ws['max_stall_ms']:,.0f} ms"],
        ["subscriber reconnects", f"{ws['reconnects']:,}"],
        ["gateway upstream switches", f"{ws['upstream_switches']:,}"],
    ]
    parts = [
        "",
        "## WebSocket continuity",
        "",
        "Every subscriber checks each `newHeads` notification: a hash seen before is a"
        " duplicate, a skipped number a gap, a new hash at an old number on a known parent a"
        " reorg, a parent that does not match a broken link.",
        "",
        _table(["measure", "value"], rows),
    ]
    feed = [e for e in ws.get("feed", []) if e["kind"] != "subscribed" or e["offset"] > 0.5]
    if feed:
        parts += [
            "",
            "### Gateway subscription",
            "",
            _table(
                ["at", "event", "provider", "detail"],
                [
                    [clock_tenths(e["offset"]), e["kind"], e["provider"] or "—", e["detail"]]
                    for e in feed[:50]
                ],
            ),
        ]
    return parts


def _errors(errors: Mapping[str, int]) -> str:
    if not errors:
        return "none"
    return ", ".join(f"{kind} {count:,}" for kind, count in errors.items())


def _charts(series: Sequence[Mapping[str, Any]]) -> list[str]:
    if not series:
        return ["No complete second was measured."]
    rates = downsample([float(s["requests"]) for s in series], CHART_POINTS)
    errors = downsample([float(s["errors"]) for s in series], CHART_POINTS)
    p95 = downsample([float(s["p95_ms"]) for s in series], CHART_POINTS)
    step = len(series) / len(rates)
    labels = [str(int(i * step)) for i in range(len(rates))]
    return [
        mermaid_line_chart(
            "Requests and errors per second",
            labels,
            [("errors", errors), ("requests", rates)],
            "per second",
        ),
        "",
        mermaid_line_chart("p95 latency per second (ms)", labels, [("p95", p95)], "ms"),
        "",
        f"Plain text (one mark per {step:.0f}s):"
        if step > 1
        else "Plain text (one mark per second):",
        "",
        "```text",
        f"req/s  {sparkline(rates)}  max {max(rates):.0f}",
        f"errors {sparkline(errors)}  max {max(errors):.0f}",
        f"p95 ms {sparkline(p95)}  max {max(p95):.1f}",
        "```",
    ]


def _rates(http: dict[str, Any]) -> str:
    """What was asked of the load and what it did, by whom."""
    workers = http.get("workers")
    who = "" if not workers else f" · sent by {workers} worker process{'es' if workers > 1 else ''}"
    achieved = f"achieved {http['achieved_rate']:g} req/s"
    if http.get("mode") == "closed":
        connections = http.get("connections")
        per = f"{connections} connections per worker" if connections else "its connections"
        return f"- closed loop (`rate: max`, {per}): {achieved}{who}"
    return f"- target rate {http['target_rate']:g} req/s, {achieved}{who}"
