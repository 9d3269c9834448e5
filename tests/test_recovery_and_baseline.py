"""Evidence a pipeline can gate on: recovery after SIGKILL, and baseline regressions."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
from helpers.cli import battletui, judged, last_line

from battletui.metrics.latency import HIGHEST_US, LOWEST_US, TOTAL_FIGURES
from battletui.scenario import load_scenario


def test_a_session_killed_with_sigkill_is_recovered_from_its_journal(tmp_path: Path) -> None:
    (tmp_path / "long.yaml").write_text(
        "name: long\nduration: 60s\nproviders: [{id: alpha}, {id: beta}]\n"
        "workload: {http: {rate: 40}}\nslo: {success_rate: 0.9}\n"
        "timeline:\n  - {at: 1s, kill: alpha}\n  - {at: 50s, restore: alpha}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "battletui", "replay", "long.yaml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        journal: Path | None = None
        while time.monotonic() < deadline:
            found = list((tmp_path / "sessions").glob("*/journal.jsonl"))
            if found:
                text = found[0].read_text()
                if '"kind":"kill"' in text and text.count('"type":"interval"') >= 3:
                    journal = found[0]
                    break
            time.sleep(0.05)
        assert journal is not None, "the session never got going"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    folder = journal.parent
    assert not (folder / "result.json").exists()  # nothing was finished...
    done = battletui("report", str(folder), cwd=tmp_path)
    result = judged(done, 0, cwd=tmp_path)  # ... and now it is
    assert last_line(done) == str(folder)
    assert "died" in done.stdout
    assert result["end_reason"] == "killed"
    assert result["http"]["requests"] >= 3 * 40 * 0.8
    assert [a["kind"] for a in result["actions"]] == ["kill"]
    assert 3 <= result["duration_s"] < 30
    assert "Verdict" in (folder / "report.md").read_text()
    recorded = load_scenario(folder / "scenario.yaml")
    assert [e.action.kind for e in recorded.timeline] == ["kill"]
    assert recorded.duration == result["duration_s"]
    reader = HistogramLogReader(
        str(folder / "latency.hlog"), HdrHistogram(LOWEST_US, HIGHEST_US, TOTAL_FIGURES)
    )
    count = 0
    while (interval := reader.get_next_interval_histogram()) is not None:
        count += interval.get_total_count()
    assert count == result["http"]["requests"]
    again = battletui("replay", str(folder / "scenario.yaml"), cwd=tmp_path)
    judged(again, 0, cwd=tmp_path)


def test_report_on_a_folder_without_a_journal_is_one_line_exit_2(tmp_path: Path) -> None:
    done = battletui("report", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no journal" in done.stderr


SCENARIO = """\
name: gate
seed: 4
duration: 4s
providers:
  - {id: alpha, latency: LATENCY, jitter: 2ms}
  - {id: beta, latency: LATENCY, jitter: 2ms}
workload: {http: {rate: 40}}
slo: {success_rate: 0.99, p95: 1s}
"""


def test_ci_gate_replay_then_compare_then_catch_a_regression(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text(SCENARIO.replace("LATENCY", "10ms"))
    (tmp_path / "slower.yaml").write_text(SCENARIO.replace("LATENCY", "60ms"))
    first = battletui("replay", "gate.yaml", cwd=tmp_path)
    judged(first, 0, cwd=tmp_path)
    baseline = tmp_path / last_line(first) / "result.json"

    same = battletui(
        "replay", "gate.yaml", "--baseline", str(baseline), "--tolerance", "50%", cwd=tmp_path
    )
    result = judged(same, 0, cwd=tmp_path)
    if result["verdict"] != "inconclusive":
        assert result["baseline"]["regressions"] == [] and result["verdict"] == "pass"

    worse = battletui(
        "replay",
        "slower.yaml",
        "--baseline",
        str(baseline),
        "--tolerance",
        "10%",
        cwd=tmp_path,
    )
    result = judged(worse, 1, cwd=tmp_path)
    folder = tmp_path / last_line(worse)
    if result["verdict"] != "inconclusive":
        assert result["slo_verdict"] == "pass" and result["verdict"] == "fail"  # SLOs held...
    regressed = {r["figure"] for r in result["baseline"]["regressions"]}
    assert "http.latency_ms.corrected.p50" in regressed  # ... but latency regressed
    report = (folder / "report.md").read_text()
    assert "## Against the baseline" in report
    assert "p50 latency" in report and "regression" in report


def test_bad_baseline_or_tolerance_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text(SCENARIO.replace("LATENCY", "10ms"))
    missing = battletui("replay", "gate.yaml", "--baseline", "nope.json", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.json" in missing.stderr
    (tmp_path / "r.json").write_text("{}")
    bad = battletui(
        "replay", "gate.yaml", "--baseline", "r.json", "--tolerance", "lots", cwd=tmp_path
    )
    assert bad.returncode == 2 and "tolerance" in bad.stderr
    assert not (tmp_path / "sessions").exists(), "bad input must not start a session"
