"""JUnit XML from result.json: schema-valid, one case per SLO, failures that name the figures."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from helpers.cli import judged

from battletui.report.junit import junit_xml, write_junit
from battletui.report.step_summary import append_step_summary, step_summary_path

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit-10.xsd")


def slo(name: str, target: float, actual: float | None, unit: str, passed: bool) -> dict[str, Any]:
    return {"name": name, "target": target, "actual": actual, "unit": unit, "passed": passed}


def result(*slos: dict[str, Any], scenario: str = "http-failover", **extra: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "scenario": scenario,
        "scenario_file": "scenario.yaml",
        "seed": 42,
        "started_at": "2026-11-21T16:05:30Z",
        "duration_s": 30.0421,
        "end_reason": "completed",
        "verdict": "pass" if all(s["passed"] for s in slos) else "fail",
        "slos": list(slos),
        **extra,
    }


PASSING = (
    slo("success_rate", 0.99, 0.9987, "ratio", True),
    slo("p95", 300.0, 84.2, "ms", True),
    slo("ws_gaps", 0.0, 0.0, "count", True),
)


def parsed(res: dict[str, Any]) -> ET.Element:
    text = junit_xml(res)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    SCHEMA.validate(text)  # raises with the reason when it does not validate
    return ET.fromstring(text.encode("utf-8"))


def suite_of(root: ET.Element) -> ET.Element:
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def failures(suite: ET.Element) -> dict[str, ET.Element]:
    return {
        case.attrib["name"]: failure
        for case in suite.findall("testcase")
        if (failure := case.find("failure")) is not None
    }


def test_all_slos_pass() -> None:
    suite = suite_of(parsed(result(*PASSING)))
    attrib = suite.attrib
    assert attrib["name"] == "battletui.http-failover"
    assert (attrib["tests"], attrib["failures"], attrib["errors"], attrib["skipped"]) == (
        "3",
        "0",
        "0",
        "0",
    )
    assert attrib["time"] == "30.042"
    assert attrib["timestamp"] == "2026-11-21T16:05:30Z"
    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == ["slo success_rate", "slo p95", "slo ws_gaps"]
    assert {c.attrib["classname"] for c in cases} == {"battletui.http-failover"}
    assert failures(suite) == {}
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props["seed"] == "42"
    assert props["scenario_file"] == "scenario.yaml"
    assert props["verdict"] == "pass"


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        (slo("p95", 300.0, 412.34, "ms", False), "p95 412.3 ms > target 300.0 ms"),
        (
            slo("success_rate", 0.99, 0.97125, "ratio", False),
            "success_rate 97.12% < target 99.00%",
        ),
        (slo("ws_duplicates", 0.0, 3.0, "count", False), "ws_duplicates 3 > target 0"),
        # close to the target: the precision grows until the two figures differ
        (slo("success_rate", 1.0, 0.99996, "ratio", False), "success_rate 99.996% < target"),
        (slo("p99", 300.0, None, "ms", False), "p99: no data (target <= 300.0 ms)"),
    ],
)
def test_one_failing_slo_per_unit(failing: dict[str, Any], message: str) -> None:
    res = result(PASSING[0] if failing["unit"] != "ratio" else PASSING[1], failing)
    suite = suite_of(parsed(res))
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("2", "1")
    failed = failures(suite)
    assert list(failed) == [f"slo {failing['name']}"]
    assert failed[f"slo {failing['name']}"].attrib["type"] == "SLOFailure"
    assert failed[f"slo {failing['name']}"].attrib["message"].startswith(message)


def test_baseline_without_regressions_is_a_passing_case() -> None:
    suite = suite_of(parsed(result(*PASSING, baseline={"regressions": []})))
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("4", "0")
    assert suite.findall("testcase")[-1].attrib["name"] == "baseline"


def test_baseline_with_regressions_fails_naming_each_figure() -> None:
    regressions = [
        # as report/baseline.py writes them ...
        {
            "figure": "http.latency_ms.corrected.p95",
            "label": "p95 latency (corrected)",
            "unit": "ms",
            "baseline": 84.0,
            "now": 120.5,
            "change": 0.4345,
            "change_text": "+43.5%",
            "why": "p95 latency rose 43.5%, more than the 10% tolerance",
        },
        # ... and with only the fields the JUnit output needs
        {"figure": "success_rate", "baseline": 0.999, "now": 0.98, "change": -0.019},
    ]
    baseline = {"file": "base/result.json", "tolerance": 0.1, "regressions": regressions}
    suite = suite_of(parsed(result(*PASSING, baseline=baseline)))
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("4", "1")
    failure = failures(suite)["baseline"]
    assert failure.attrib["type"] == "BaselineRegression"
    message = failure.attrib["message"]
    assert message.startswith("2 regressions against base/result.json: ")
    assert "http.latency_ms.corrected.p95 84.0 ms → 120.5 ms (+43.5%)" in message
    assert "success_rate 0.999 → 0.98 (-0.019)" in message
    assert "more than the 10% tolerance" in (failure.text or "")
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props["baseline_file"] == "base/result.json"


def test_no_baseline_key_no_baseline_case() -> None:
    suite = suite_of(parsed(result(*PASSING, baseline=None)))
    assert "baseline" not in [c.attrib["name"] for c in suite.findall("testcase")]


def test_names_are_escaped_and_control_characters_dropped(tmp_path: Path) -> None:
    name = 'a<&>"b\x07'
    res = result(slo("p95", 300.0, 412.3, "ms", False), scenario=name)
    text = junit_xml(res)
    assert "<&>" not in text
    suite = suite_of(parsed(res))
    assert suite.attrib["name"] == 'battletui.a<&>"b\ufffd'
    write_junit(res, tmp_path / "deep" / "out.xml")
    written = (tmp_path / "deep" / "out.xml").read_bytes()
    assert written.decode("utf-8") == text
    SCHEMA.validate(str(tmp_path / "deep" / "out.xml"))


def test_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    assert step_summary_path({}) is None
    assert step_summary_path({"GITHUB_STEP_SUMMARY": str(target)}) == target
    append_step_summary("# one", target)
    append_step_summary("# two\n", target)
    assert target.read_text() == "# one\n\n# two\n"
    with pytest.raises(OSError):
        append_step_summary("# x", tmp_path / "missing" / "summary.md")


def test_replay_writes_junit_and_step_summary(tmp_path: Path) -> None:
    """End to end: the real command, one SLO that fails and one that holds."""
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\nduration: 2s\nproviders: [{id: alpha, latency: 30ms}]\n"
        "workload: {http: {rate: 20}}\nslo: {p50: 1ms, success_rate: 0.5}\n"
    )
    summary = tmp_path / "ci" / "summary.md"
    summary.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "battletui", "replay", "tiny.yaml", "--junit", "out.xml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    res = judged(done, 1, cwd=tmp_path)
    SCHEMA.validate(str(tmp_path / "out.xml"))
    suite = suite_of(ET.parse(tmp_path / "out.xml").getroot())
    names = [c.attrib["name"] for c in suite.findall("testcase")]
    assert (
        names[:-1] == [f"slo {s['name']}" for s in res["slos"]] == ["slo success_rate", "slo p50"]
    )
    assert names[-1] == "instrument"  # the generator's own check, after the objectives
    p50 = next(s for s in res["slos"] if s["name"] == "p50")
    judged_p50 = f"p50 {p50['actual']:.1f} ms > target 1.0 ms"
    if res["verdict"] == "inconclusive":  # the generator fell behind on a busy machine
        cases = {c.attrib["name"]: c for c in suite.findall("testcase")}
        skipped = cases["slo p50"].find("skipped")
        assert skipped is not None and judged_p50 in skipped.attrib["message"]
        assert cases["instrument"].find("error") is not None and failures(suite) == {}
        assert "**Verdict: ⚠️ INCONCLUSIVE**" in summary.read_text(encoding="utf-8")
        return
    failed = failures(suite)
    assert list(failed) == ["slo p50"]
    assert judged_p50 in failed["slo p50"].attrib["message"]
    assert "**Verdict: ❌ FAIL**" in summary.read_text(encoding="utf-8")
