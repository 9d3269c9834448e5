"""Golden tests: the report and result rebuilt from a fixed journal are stable, byte for byte.

The journal in tests/data/golden/ was recorded once from a real session (scenario.yaml there).
To accept a deliberate change of the report: BATTLETUI_UPDATE_GOLDEN=1 pytest this file,
then read the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from battletui.report import build_result, rebuild, render_report

GOLDEN = Path(__file__).parent / "data" / "golden"
UPDATE = os.environ.get("BATTLETUI_UPDATE_GOLDEN") == "1"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with BATTLETUI_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


@pytest.fixture(scope="module")
def result() -> dict:  # type: ignore[type-arg]
    return build_result(rebuild(GOLDEN / "journal.jsonl"))


def test_report_markdown_is_stable(result: dict) -> None:  # type: ignore[type-arg]
    check("report.md", render_report(result))


def test_result_json_is_stable(result: dict) -> None:  # type: ignore[type-arg]
    check("result.json", json.dumps(result, indent=2) + "\n")


def test_the_golden_session_shows_what_it_should(result: dict) -> None:  # type: ignore[type-arg]
    """Not just stable but right: the content a reader relies on is there."""
    assert result["verdict"] == "pass" and result["end_reason"] == "completed"
    assert [a["kind"] for a in result["actions"]] == ["kill", "mark", "restore", "reorg"]
    labels = [p["label"] for p in result["phases"]]
    assert labels[0] == "before any fault" and "kill alpha" in labels
    assert any(label.startswith("after") for label in labels[2:])
    (impact,) = result["fault_impacts"]
    assert impact["fault"] == "kill alpha" and impact["opened_after_s"] is not None
    assert result["ws"]["reorgs"] >= 2 and result["ws"]["gaps"] == 0
    report = render_report(result)
    for heading in (
        "## SLOs",
        "### Latency per phase",
        "### What each fault did to the breaker",
        "## WebSocket continuity",
        "## Actions",
        "```mermaid",
        "```text",
    ):
        assert heading in report, heading
    assert "'alpha down'" in report  # the operator's mark in the action timeline


def test_two_breaker_changes_at_one_moment_are_both_in_the_timeline(result: dict) -> None:  # type: ignore[type-arg]
    """Transitions sort by time and provider only: two of one provider at the same offset
    once raised TypeError (a mapping does not sort) and the session was never written."""
    provider = next(iter(result["providers"].values()))
    first = {"offset": 2.0, "from": "CLOSED", "to": "OPEN", "reason": "5 failures"}
    provider["transitions"] = [first, {**first, "from": "OPEN", "to": "HALF-OPEN"}]
    report = render_report(result)
    assert report.index("CLOSED → OPEN") < report.index("OPEN → HALF-OPEN")
