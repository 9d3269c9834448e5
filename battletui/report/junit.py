"""JUnit XML from ``result.json``: one test case per SLO, so CI shows which objective broke.

The shape is the common one CI systems read (Jenkins, GitLab, GitHub test-report actions,
Azure DevOps): ``<testsuites>`` holding one ``<testsuite name="battletui.<scenario>">`` with
its ``<properties>`` and one ``<testcase name="slo <name>">`` per objective; a broken
objective carries ``<failure type="SLOFailure">`` whose message names the measured figure and
the target. When the result was compared with a baseline, one more test case, ``baseline``,
fails when that comparison found regressions.

When the result carries the load generator's own check (``instrument``, measured), one more
test case, ``instrument``, passes when the generator kept its schedule and carries an
``<error type="InstrumentSaturated">`` when it fell behind: CI shows it as broken, not as a
failed objective. The run's SLOs then judged the generator's delays rather than the gateway,
so an SLO that failed is reported ``<skipped>`` (its figures in the message) instead of as a
failure blamed on the gateway.

The suite's ``time`` is the session's duration. A test case's ``time`` is 0: every objective
is judged over the whole session, and CI tools that add up case times would otherwise count
the session once per SLO.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from battletui.report.instrument import fell_behind, why_behind
from battletui.report.slo import bound, figure, figures
from battletui.scenario import clock_tenths

SUITE_PREFIX = "battletui."
SLO_FAILURE = "SLOFailure"
REGRESSION_FAILURE = "BaselineRegression"
INSTRUMENT_ERROR = "InstrumentSaturated"

# Characters XML 1.0 cannot carry at all, even escaped (C0 controls other than \t \n \r,
# lone surrogates, U+FFFE/U+FFFF). ElementTree escapes markup but passes these through.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(result: Mapping[str, Any]) -> str:
    """The JUnit XML document (with its UTF-8 declaration) for one session's result."""
    classname = SUITE_PREFIX + _text(result.get("scenario", "session"))
    instrument = _measured_instrument(result)
    saturated = bool(instrument and instrument.get("saturated"))
    cases = [_slo_case(classname, slo, inconclusive=saturated) for slo in result.get("slos") or ()]
    baseline = _compared_baseline(result)
    if baseline is not None:
        cases.append(_baseline_case(classname, baseline))
    if instrument is not None:
        cases.append(_instrument_case(classname, instrument))
    counts = _counts(cases)
    root = ET.Element(
        "testsuites",
        {
            "name": "battletui",
            "tests": counts["tests"],
            "failures": counts["failures"],
            "errors": counts["errors"],
            "time": _seconds(result.get("duration_s")),
        },
    )
    suite_attributes = {"name": classname, **counts, "time": _seconds(result.get("duration_s"))}
    if result.get("started_at"):
        suite_attributes["timestamp"] = _text(result["started_at"])
    suite = ET.SubElement(root, "testsuite", suite_attributes)
    suite.append(_properties(result, baseline))
    suite.extend(cases)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _measured_instrument(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The load generator's own check, when it was measured (else no test case for it)."""
    given = result.get("instrument")
    return given if isinstance(given, Mapping) and given.get("measured") else None


def _compared_baseline(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The comparison with a baseline, when there was one (else no test case for it)."""
    given = result.get("baseline")
    if isinstance(given, Mapping) and isinstance(given.get("regressions"), list):
        return given
    return None


def _counts(cases: Sequence[ET.Element]) -> dict[str, str]:
    """The suite's tally, in the order its attributes are written."""
    return {
        "tests": str(len(cases)),
        "failures": str(sum(1 for case in cases if case.find("failure") is not None)),
        "errors": str(sum(1 for case in cases if case.find("error") is not None)),
        "skipped": str(sum(1 for case in cases if case.find("skipped") is not None)),
    }


def _properties(result: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> ET.Element:
    """The suite's ``<properties>``: what identifies the run (and its baseline)."""
    properties = ET.Element("properties")
    shown = {
        name: result[name]
        for name in ("scenario", "scenario_file", "seed", "verdict", "end_reason", "started_at")
        if name in result
    }
    if baseline is not None:
        shown["baseline_file"] = baseline.get("file")
        shown["baseline_tolerance"] = baseline.get("tolerance")
    for name, value in shown.items():
        ET.SubElement(
            properties, "property", {"name": name, "value": "" if value is None else _text(value)}
        )
    return properties


def write_junit(result: Mapping[str, Any], path: Path | str) -> None:
    """Write :func:`junit_xml` to ``path`` in UTF-8, creating its folder if needed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(result), encoding="utf-8")


# -- test cases ------------------------------------------------------------------------------


def _slo_case(classname: str, slo: Mapping[str, Any], *, inconclusive: bool) -> ET.Element:
    name = _text(slo.get("name", "?"))
    case = ET.Element("testcase", {"classname": classname, "name": f"slo {name}", "time": "0"})
    unit = str(slo.get("unit", ""))
    target = slo.get("target")
    actual = slo.get("actual")
    higher_is_better = unit == "ratio"
    if actual is None or target is None:
        shown_actual = "no data"
        shown_target = "—" if target is None else figure(float(target), unit)
        judged = f"{name}: {shown_actual} (target {bound(unit)} {shown_target})"
    else:
        shown_actual, shown_target = figures(float(actual), float(target), unit)
        if slo.get("passed"):
            relation = ">=" if higher_is_better else "<="
        else:
            relation = "<" if higher_is_better else ">"
        judged = f"{name} {shown_actual} {relation} target {shown_target}"
    if slo.get("passed"):
        ET.SubElement(case, "system-out").text = judged
    elif inconclusive:
        ET.SubElement(
            case,
            "skipped",
            {"message": f"inconclusive, the load generator fell behind; as measured: {judged}"},
        )
    else:
        failure = ET.SubElement(case, "failure", {"message": judged, "type": SLO_FAILURE})
        failure.text = (
            f"SLO {name} failed: measured {shown_actual}, target {bound(unit)} {shown_target}."
        )
    return case


def _baseline_case(classname: str, baseline: Mapping[str, Any]) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": "baseline", "time": "0"})
    regressions: Sequence[Any] = baseline["regressions"]
    against = f" {_text(baseline['file'])}" if baseline.get("file") else " the baseline"
    if not regressions:
        ET.SubElement(case, "system-out").text = f"no regression against{against}"
        return case
    lines = [_regression(item) for item in regressions]
    count = len(lines)
    message = f"{count} regression{'s' if count != 1 else ''} against{against}: " + "; ".join(lines)
    failure = ET.SubElement(case, "failure", {"message": message, "type": REGRESSION_FAILURE})
    failure.text = "\n".join(
        f"{line}: {_text(item['why'])}" if isinstance(item, Mapping) and item.get("why") else line
        for line, item in zip(lines, regressions, strict=True)
    )
    return case


def _instrument_case(classname: str, instrument: Mapping[str, Any]) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": "instrument", "time": "0"})
    behind = fell_behind(instrument, clock_tenths)
    if behind is None:
        slip = instrument.get("slip_ms") or {}
        ET.SubElement(case, "system-out").text = (
            f"the load generator kept its schedule: slip p99 {float(slip.get('p99', 0.0)):.2f} ms,"
            f" {int(instrument.get('unsent') or 0):,} unsent"
        )
        return case
    message = f"{behind} ({why_behind(instrument)})"
    error = ET.SubElement(case, "error", {"message": _text(message), "type": INSTRUMENT_ERROR})
    error.text = (
        "The session's verdict is inconclusive: its latency measured the load generator's own"
        " delays. Run with a lower rate, on a less busy machine, or without the screen attached."
    )
    return case


def _regression(item: Any) -> str:
    """``figure baseline → now (change)``, e.g. ``http.latency_ms.corrected.p95 84.0 ms →
    120.5 ms (+43.5%)``; the change as ``change_text`` gives it, else the plain number."""
    if not isinstance(item, Mapping):
        return _text(item)
    unit = str(item.get("unit", ""))
    figure = _text(item.get("figure", "?"))
    before = _value(item.get("baseline"), unit)
    now = _value(item.get("now"), unit)
    change = item.get("change_text") or item.get("change")
    if isinstance(change, bool) or not isinstance(change, int | float):
        shown_change = "" if change is None else _text(change)
    else:
        shown_change = f"{change:+g}"
    return f"{figure} {before} → {now}" + (f" ({shown_change})" if shown_change else "")


# -- figures ---------------------------------------------------------------------------------


def _value(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    if unit in ("ratio", "share", "ms", "count"):
        return figure(float(value), unit)
    if unit == "req/s":
        return f"{value:.1f} req/s"
    return f"{value:g}"


def _seconds(value: Any) -> str:
    """Seconds as the JUnit schema's time pattern accepts them: plain decimal, never negative."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "0"
    return f"{max(float(value), 0.0):.3f}"


def _text(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(value))
