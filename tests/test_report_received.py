"""Traffic from the providers' side in the report: the journal's cumulative ``received``
entries become totals, shares and per-second counts; old journals still rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import MappingProxyType

from battletui.engine import Journal, Received
from battletui.engine.recorder import SessionRecorder
from battletui.report import build_result, rebuild, render_report
from battletui.report.received import received_figures, received_json

GOLDEN = Path(__file__).parent / "data" / "golden" / "journal.jsonl"


def entry(offset: float, **requests: int) -> dict[str, object]:
    return {
        "type": "received",
        "offset": offset,
        "providers": {
            pid: {"requests": n, "methods": {"eth_blockNumber": n}} for pid, n in requests.items()
        },
    }


def test_totals_come_from_the_last_entry_and_seconds_add_up_to_them() -> None:
    entries = [entry(1.0, a=10, b=0), entry(2.0, a=30, b=5), entry(4.0, a=50, b=5)]
    figures = received_figures(entries, ["a", "b", "c"], range(5))
    assert figures is not None
    assert figures.totals["a"] == {"requests": 50, "methods": {"eth_blockNumber": 50}}
    assert figures.totals["c"] == {"requests": 0, "methods": {}}
    # a late entry (4.0 after 2.0) is spread over the two seconds it covers
    assert [figures.per_second[t]["a"] for t in range(5)] == [10, 20, 10, 10, 0]
    assert [figures.per_second[t]["b"] for t in range(5)] == [0, 5, 0, 0, 0]
    assert sum(figures.per_second[t]["a"] for t in range(5)) == 50


def test_entries_out_of_order_or_off_the_second_still_add_up() -> None:
    entries = [entry(2.7, a=27), entry(0.7, a=7), entry(1.7, a=17)]
    figures = received_figures(entries, ["a"], range(3))
    assert figures is not None
    assert [figures.per_second[t]["a"] for t in range(3)] == [10, 10, 7]


def test_share_is_of_everything_the_providers_received() -> None:
    figures = received_figures([entry(1.0, a=30, b=10)], ["a", "b"], [0])
    assert received_json(figures, "a") == {
        "requests": 30,
        "share": 0.75,
        "methods": {"eth_blockNumber": 30},
    }
    assert received_json(None, "a") is None
    assert received_figures([], ["a"], [0]) is None


def test_the_recorder_journals_cumulative_counts(tmp_path: Path) -> None:
    recorder = SessionRecorder(elapsed=lambda: 0.0, offset_of=lambda at: at)
    recorder.journal = Journal(tmp_path / "journal.jsonl")
    methods = MappingProxyType({"eth_call": 2, "eth_chainId": 1})
    recorder.on_received(1.23456, {"alpha": Received(3, methods, http=3), "beta": Received()})
    recorder.journal.close()
    line = json.loads((tmp_path / "journal.jsonl").read_text())
    assert line == {
        "type": "received",
        "offset": 1.235,
        "providers": {
            "alpha": {"requests": 3, "methods": {"eth_call": 2, "eth_chainId": 1}},
            "beta": {"requests": 0, "methods": {}},
        },
    }


def test_result_and_report_carry_what_the_providers_received(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    shutil.copy(GOLDEN, journal)
    with journal.open("a", encoding="utf-8") as out:
        for second in range(1, 7):
            out.write(json.dumps(entry(float(second), alpha=10 * second, beta=30 * second)) + "\n")
    result = build_result(rebuild(journal))
    alpha = result["providers"]["alpha"]["received"]
    assert alpha == {"requests": 60, "share": 0.25, "methods": {"eth_blockNumber": 60}}
    assert result["providers"]["beta"]["received"]["share"] == 0.75
    series = result["series"]
    assert series[0]["received"] == {"alpha": 10, "beta": 30}
    assert sum(s["received"]["beta"] for s in series) == 180
    report = render_report(result)
    assert "| received |" in report and "| 25.0% (60) |" in report
    assert "what each provider itself counted" in report


def test_an_old_journal_without_counts_still_rebuilds() -> None:
    result = build_result(rebuild(GOLDEN))
    assert all(p["received"] is None for p in result["providers"].values())
    assert all(s["received"] is None for s in result["series"])
    report = render_report(result)
    assert "| — |" in report and "what each provider itself counted" not in report
