"""The instrument in the outputs: journal → result.json, report.md, summary, JUnit, exit code."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from battletui import exit_codes
from battletui.engine.journal import Journal
from battletui.engine.recorder import SessionRecorder
from battletui.metrics import HttpMetrics, RequestResult
from battletui.report import build_result, rebuild, render_report
from battletui.report.baseline import against_baseline
from battletui.report.junit import junit_xml
from battletui.report.summary import print_summary

DATA = Path(__file__).parent / "data"
SCENARIO = (
    "name: selfcheck\nduration: 10s\nproviders: [{id: alpha}]\n"
    "workload: {http: {rate: 100}}\nslo: {success_rate: 0.99, p95: 100ms}\n"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_journal(
    path: Path, *, late_from: int | None = None, unsent_from: int | None = None
) -> Path:
    """Ten seconds at 100 req/s as the live session journals them, each request answered
    20 ms after it left; from ``late_from`` every request leaves 30 ms late, from
    ``unsent_from`` a fifth of them never leaves."""
    journal = Journal(path)
    journal.write({"type": "start", "started_at": "2026-11-21T16:00:00Z", "scenario": SCENARIO})
    journal.write({"type": "running", "wall": 1795280000.0})
    recorder = SessionRecorder(elapsed=lambda: 0.0, offset_of=lambda at: at)
    recorder.journal = journal
    clock = FakeClock()
    metrics = HttpMetrics(clock, start=0.0, on_interval=recorder.on_interval)
    for index in range(10):
        for slot in range(100):
            intended = index + slot / 100
            clock.now = intended
            if unsent_from is not None and index >= unsent_from and slot % 5 == 0:
                metrics.unsent(intended=intended)
                continue
            slip = 0.030 if late_from is not None and index >= late_from else 0.0005
            metrics.scheduled(intended)
            sent = intended + slip
            metrics.left(intended, sent)
            metrics.record(RequestResult("eth_blockNumber", intended, sent, sent + 0.020, True))
            if slot % 5 == 0:
                metrics.loop_sample(0.0004, 0.02, 0.05)
    clock.now = 10.0
    metrics.flush()
    journal.write({"type": "end", "offset": 10.0, "reason": "completed"})
    journal.close()
    return path


def result_of(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    return build_result(rebuild(write_journal(tmp_path / "journal.jsonl", **kwargs)))


def test_the_journal_carries_the_generators_figures_every_second(tmp_path: Path) -> None:
    path = write_journal(tmp_path / "journal.jsonl", late_from=4)
    intervals = [json.loads(line) for line in path.read_text().splitlines() if '"interval"' in line]
    assert len(intervals) == 11  # the last answers land in second 10, closed at the end
    for entry in intervals[:10]:
        assert {"due", "sent", "unsent", "clipped", "slip", "loop_lag", "cpu_percent"} <= set(entry)
        assert entry["due"] == entry["sent"] and entry["unsent"] == 0
        assert entry["cpu_percent"] == pytest.approx(40.0)
    assert sum(entry["due"] for entry in intervals) == 1000
    assert intervals[10]["loop_lag"] is None  # an empty histogram is journaled as null


def test_a_generator_that_kept_up_passes_with_its_figures_in_the_result(tmp_path: Path) -> None:
    result = result_of(tmp_path)
    instrument = result["instrument"]
    assert instrument["measured"] is True and instrument["saturated"] is False
    assert instrument["behind_from_s"] is None and instrument["behind_seconds"] == 0
    assert instrument["slip_ms"]["p99"] == pytest.approx(0.5, rel=0.02)
    assert (instrument["due"], instrument["sent"], instrument["unsent"]) == (1000, 1000, 0)
    assert instrument["loop_lag_ms"]["max"] == pytest.approx(0.4, rel=0.01)
    assert instrument["cpu_percent"] == {"mean": 40.0, "max": 40.0}
    assert instrument["clipped"] == 0
    assert result["verdict"] == result["slo_verdict"] == "pass"
    assert exit_codes.of_result(result) == exit_codes.PASS
    report = render_report(result)
    assert "## The instrument" in report and "| kept up | ✅ yes |" in report
    assert "Inconclusive" not in report


def test_slip_makes_the_verdict_inconclusive_from_the_second_it_began(tmp_path: Path) -> None:
    result = result_of(tmp_path, late_from=4)
    instrument = result["instrument"]
    assert instrument["saturated"] is True and instrument["behind_from_s"] == 4
    assert instrument["behind_seconds"] == 6  # 4..9; second 10, the partial one, is not judged
    assert instrument["slip_ms"]["p99"] == pytest.approx(30.0, rel=0.02)
    assert result["verdict"] == "inconclusive" and result["slo_verdict"] == "pass"
    assert exit_codes.of_result(result) == exit_codes.INCONCLUSIVE == 4
    report = render_report(result)
    assert "**Verdict: ⚠️ INCONCLUSIVE**" in report
    verdict_at = report.index("**Verdict:")
    said_at = report.index(
        "the load generator fell behind from 00:04.0; latency after that is not a measurement"
        " of the gateway"
    )
    assert verdict_at < said_at < report.index("## SLOs")  # right under the verdict
    assert "(slip p99 30.1 ms > 5 ms)" in report


def test_unsent_requests_fail_saturate_and_leave_the_achieved_rate(tmp_path: Path) -> None:
    result = result_of(tmp_path, unsent_from=6)
    instrument = result["instrument"]
    assert instrument["unsent"] == 4 * 20 and instrument["sent"] == 1000 - 80
    assert instrument["saturated"] is True and instrument["behind_from_s"] == 6
    http = result["http"]
    assert http["errors"] == {"unsent": 80} and http["requests"] == 1000 and http["ok"] == 920
    assert http["latency_ms"]["corrected"]["count"] == 920  # no latency for what never left
    assert http["achieved_rate"] == pytest.approx(92.0)
    assert result["slo_verdict"] == "fail" and result["verdict"] == "inconclusive"
    assert exit_codes.of_result(result) == exit_codes.INCONCLUSIVE  # not blamed on the gateway
    assert "sent 92.0% of 1,000 due (< 99%) · 80 unsent" in render_report(result)


def test_an_old_journal_without_the_figures_still_rebuilds_unjudged() -> None:
    result = build_result(rebuild(DATA / "golden" / "journal.jsonl"))
    assert result["instrument"]["measured"] is False
    assert result["instrument"]["saturated"] is False and result["instrument"]["slip_ms"] is None
    assert result["verdict"] == "pass" and exit_codes.of_result(result) == exit_codes.PASS
    assert "predates the generator's self-check" in render_report(result)


def test_a_baseline_regression_does_not_overturn_inconclusive(tmp_path: Path) -> None:
    result = result_of(tmp_path, late_from=4)
    baseline = json.loads(json.dumps(result))
    baseline["http"]["latency_ms"]["corrected"]["p95"] = 1.0  # now far worse than this
    against_baseline(baseline, tolerance=0.1, baseline_file="base.json")(result)
    assert result["baseline"]["regressions"]
    assert result["verdict"] == "inconclusive"


def test_exit_code_4_only_for_inconclusive() -> None:
    assert exit_codes.of_result({"verdict": "inconclusive", "slo_verdict": "fail"}) == 4
    assert exit_codes.of_result({"verdict": "fail"}) == exit_codes.SLO_FAILED
    assert exit_codes.of_result({"verdict": "pass"}) == exit_codes.PASS


def test_the_printed_summary_says_inconclusive_and_why(tmp_path: Path) -> None:
    out = io.StringIO()
    print_summary(result_of(tmp_path, late_from=4), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "verdict: INCONCLUSIVE"
    assert "the load generator fell behind from 00:04.0" in lines[1]
    fine = tmp_path / "fine"
    fine.mkdir()
    out = io.StringIO()
    print_summary(result_of(fine), out)
    assert out.getvalue().startswith("verdict: PASS") and "fell behind" not in out.getvalue()


def test_junit_shows_the_instrument_broken_and_the_failed_slos_skipped(tmp_path: Path) -> None:
    result = result_of(tmp_path, unsent_from=6)
    text = junit_xml(result)
    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(text)
    suite = ET.fromstring(text.encode()).find("testsuite")
    assert suite is not None
    cases = {case.attrib["name"]: case for case in suite.findall("testcase")}
    assert list(cases) == ["slo success_rate", "slo p95", "instrument"]
    error = cases["instrument"].find("error")
    assert error is not None and error.attrib["type"] == "InstrumentSaturated"
    assert "fell behind from 00:06.0" in error.attrib["message"]
    skipped = cases["slo success_rate"].find("skipped")
    assert skipped is not None and "success_rate 92.00% < target" in skipped.attrib["message"]
    assert cases["slo success_rate"].find("failure") is None
    assert (suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]) == (
        "0",
        "1",
        "1",
    )


def test_junit_instrument_case_passes_when_it_kept_up(tmp_path: Path) -> None:
    suite = ET.fromstring(junit_xml(result_of(tmp_path)).encode()).find("testsuite")
    assert suite is not None
    case = suite.findall("testcase")[-1]
    assert case.attrib["name"] == "instrument" and case.find("error") is None
    assert suite.attrib["errors"] == "0"
