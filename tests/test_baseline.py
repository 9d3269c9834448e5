"""Baseline comparison: each rule at, just below and just above its threshold, on real results."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from battletui.report.baseline import (
    BaselineComparison,
    FigureComparison,
    compare,
    load_baseline,
    parse_tolerance,
    render_markdown,
)

EXAMPLE = REPO / "tests" / "data" / "example_result.json"
"""A real result.json (an older recording of scenarios/failover.yaml), fixed for these tests."""
TOLERANCE = 0.10


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return load_baseline(EXAMPLE)


@pytest.fixture
def base(example: dict[str, Any]) -> dict[str, Any]:
    """The example result with WebSocket and failover figures, as a newer session has."""
    result = copy.deepcopy(example)
    result["ws"] = {
        "subscribers": 4,
        "heads": 120,
        "gaps": 0,
        "duplicates": 0,
        "broken_links": 0,
        "max_stall_ms": 1000.0,
    }
    result["failovers"] = {
        "count": 4,
        "requests": 4,
        "latency_ms": {"count": 4, "p50": 40.0, "p95": 100.0, "p99": 100.0, "max": 100.0},
    }
    return result


def run(
    now: dict[str, Any], before: dict[str, Any], tolerance: float = TOLERANCE
) -> BaselineComparison:
    return compare(now, before, tolerance=tolerance, baseline_file="base/result.json")


def figure(comparison: BaselineComparison, name: str) -> FigureComparison:
    matches = [f for f in comparison.figures if f.figure == name]
    assert len(matches) == 1, f"{name} listed {len(matches)} times"
    return matches[0]


def with_value(result: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(result)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[key]
    node[last] = value
    return changed


def regressed(before: dict[str, Any], path: str, value: Any, tolerance: float = TOLERANCE) -> bool:
    comparison = run(with_value(before, path, value), before, tolerance)
    return figure(comparison, path).regressed


# --------------------------------------------------------------------------- whole results


def test_identical_results_have_no_regressions(base: dict[str, Any]) -> None:
    comparison = run(copy.deepcopy(base), base)
    assert comparison.regressions == ()
    assert [f.figure for f in comparison.figures] == [
        "http.latency_ms.corrected.p50",
        "http.latency_ms.corrected.p95",
        "http.latency_ms.corrected.p99",
        "http.latency_ms.corrected.p999",
        "http.latency_ms.corrected.max",
        "http.latency_ms.uncorrected.p95",
        "http.success_rate",
        "http.achieved_rate",
        "failovers.latency_ms.p95",
        "ws.gaps",
        "ws.duplicates",
        "ws.broken_links",
        "ws.max_stall_ms",
        "http.requests",
        "http.failovers",
    ]
    assert all(f.change == 0 for f in comparison.figures)
    assert all(f.why == "" for f in comparison.figures)


def test_the_example_against_itself_leaves_out_what_neither_has(example: dict[str, Any]) -> None:
    comparison = run(copy.deepcopy(example), example)
    names = {f.figure for f in comparison.figures}
    assert comparison.regressions == ()
    assert not any(n.startswith(("ws.", "failovers.")) for n in names)
    assert "http.latency_ms.corrected.p95" in names


def test_every_regression_is_found_at_once(base: dict[str, Any]) -> None:
    now = with_value(base, "http.latency_ms.corrected.p99", 200.0)
    now = with_value(now, "http.success_rate", 0.9)
    now = with_value(now, "ws.gaps", 3)
    comparison = run(now, base)
    assert [f.figure for f in comparison.regressions] == [
        "http.latency_ms.corrected.p99",
        "http.success_rate",
        "ws.gaps",
    ]


def test_a_negative_tolerance_is_refused(base: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        run(base, base, tolerance=-0.1)


# --------------------------------------------------------------------------- latency


def with_requests(result: dict[str, Any], count: int) -> dict[str, Any]:
    """The result as if its latency histograms held ``count`` requests."""
    changed = with_value(result, "http.latency_ms.corrected.count", count)
    return with_value(changed, "http.latency_ms.uncorrected.count", count)


@pytest.mark.parametrize(
    "path",
    [
        "http.latency_ms.corrected.p50",
        "http.latency_ms.corrected.p95",
        "http.latency_ms.corrected.p99",
        "http.latency_ms.corrected.p999",
        "http.latency_ms.uncorrected.p95",
    ],
)
def test_latency_regresses_only_above_the_tolerance(base: dict[str, Any], path: str) -> None:
    before = with_value(with_requests(base, 10_000), path, 100.0)
    assert not regressed(before, path, 110.0)  # at the threshold
    assert not regressed(before, path, 109.99)
    assert regressed(before, path, 110.01)
    assert not regressed(before, path, 50.0)  # faster is never a regression


def test_a_tail_is_judged_only_with_enough_requests_beyond_it(base: dict[str, Any]) -> None:
    """3,000 requests: p99 rests on 30 of them and is judged; p99.9 on 3, and the maximum
    on one, are listed, never judged (a busy machine alone moved them by half)."""
    slower = base
    for p in ("p99", "p999", "max"):
        slower = with_value(slower, f"http.latency_ms.corrected.{p}", 10_000.0)
    got = run(slower, base)
    assert figure(got, "http.latency_ms.corrected.p99").regressed
    tail = figure(got, "http.latency_ms.corrected.p999")
    assert not tail.regressed and tail.unjudged == "too few requests to judge (needs 10,000)"
    assert tail.change_text.startswith("+")  # the change is still shown
    top = figure(got, "http.latency_ms.corrected.max")
    assert not top.regressed and top.unjudged == "one request: never judged"
    assert figure(
        run(with_requests(slower, 10_000), with_requests(base, 10_000)),
        "http.latency_ms.corrected.p999",
    ).regressed
    one_side = run(with_requests(slower, 10_000), with_requests(base, 9_999))
    assert not figure(one_side, "http.latency_ms.corrected.p999").regressed


def test_latency_change_is_relative_and_why_names_the_rise(base: dict[str, Any]) -> None:
    path = "http.latency_ms.corrected.p95"
    before = with_value(base, path, 100.0)
    got = figure(run(with_value(before, path, 131.0), before), path)
    assert got.unit == "ms"
    assert got.change == pytest.approx(0.31)
    assert got.change_text == "+31.0%"
    assert got.regressed
    assert got.why.startswith("p95 latency (corrected) rose 31.0%")
    assert "tolerance 10%" in got.why
    assert "\n" not in got.why


def test_latency_noise_floor_of_two_milliseconds(base: dict[str, Any]) -> None:
    path = "http.latency_ms.corrected.p95"
    before = with_value(base, path, 5.0)
    assert not regressed(before, path, 7.0)  # +40% but exactly +2 ms
    assert not regressed(before, path, 6.99)
    assert regressed(before, path, 7.01)
    fast = with_value(base, path, 0.3)
    assert not regressed(fast, path, 0.9)  # +200%, sub-millisecond jitter


def test_zero_tolerance_still_has_the_floor(base: dict[str, Any]) -> None:
    path = "http.latency_ms.corrected.p95"
    before = with_value(base, path, 100.0)
    assert not regressed(before, path, 101.9, tolerance=0.0)
    assert regressed(before, path, 102.1, tolerance=0.0)


def test_latency_from_a_zero_baseline_shows_the_absolute_difference(base: dict[str, Any]) -> None:
    path = "http.latency_ms.corrected.p50"
    before = with_value(base, path, 0.0)
    got = figure(run(with_value(before, path, 5.0), before), path)
    assert got.change is None
    assert got.change_text == "+5.0 ms"
    assert got.regressed


def test_an_empty_latency_histogram_is_not_compared(base: dict[str, Any]) -> None:
    empty = copy.deepcopy(base)
    empty["http"]["latency_ms"]["corrected"] = {
        "count": 0,
        "p50": 0.0,
        "p95": 0.0,
        "p99": 0.0,
        "p999": 0.0,
        "max": 0.0,
    }
    got = figure(run(base, empty), "http.latency_ms.corrected.p95")
    assert got.baseline is None
    assert got.now == base["http"]["latency_ms"]["corrected"]["p95"]
    assert not got.regressed
    assert got.change is None
    assert got.change_text == "—"


# --------------------------------------------------------------------------- success rate


def test_success_rate_judges_the_error_rate_against_the_tolerance(base: dict[str, Any]) -> None:
    path = "http.success_rate"
    before = with_value(base, path, 0.99)  # 1% errors; 10% more is 1.1%
    assert not regressed(before, path, 0.989)  # at the threshold
    assert not regressed(before, path, 0.9891)
    assert regressed(before, path, 0.9889)
    assert not regressed(before, path, 1.0)


def test_success_rate_floor_of_a_tenth_of_a_point(base: dict[str, Any]) -> None:
    path = "http.success_rate"
    perfect = with_value(base, path, 1.0)
    assert not regressed(perfect, path, 0.9995)  # errors appear, but only 0.05 pt
    assert not regressed(perfect, path, 0.999)  # exactly 0.1 pt
    assert regressed(perfect, path, 0.9989)
    before = with_value(base, path, 0.999)
    assert not regressed(before, path, 0.998)  # errors doubled, +0.1 pt exactly
    assert regressed(before, path, 0.9979)


def test_success_rate_change_is_in_points(base: dict[str, Any]) -> None:
    path = "http.success_rate"
    before = with_value(base, path, 0.999)
    got = figure(run(with_value(before, path, 0.98), before), path)
    assert got.unit == "ratio"
    assert got.change == pytest.approx(-0.019)
    assert got.change_text == "-1.9 pt"
    assert got.regressed
    assert "1.9 pt" in got.why
    small = figure(run(with_value(before, path, 0.9995), before), path)
    assert small.change_text == "+0.05 pt"


def test_success_rate_none_means_no_traffic(base: dict[str, Any]) -> None:
    got = figure(run(with_value(base, "http.success_rate", None), base), "http.success_rate")
    assert got.now is None
    assert not got.regressed


# --------------------------------------------------------------------------- achieved rate


def test_achieved_rate_regresses_when_it_drops(base: dict[str, Any]) -> None:
    path = "http.achieved_rate"
    before = with_value(base, path, 100.0)
    assert not regressed(before, path, 90.0)  # at the threshold
    assert not regressed(before, path, 90.01)
    assert regressed(before, path, 89.99)
    assert not regressed(before, path, 150.0)  # more load delivered is not a regression
    got = figure(run(with_value(before, path, 80.0), before), path)
    assert got.unit == "req/s"
    assert got.change == pytest.approx(-0.2)
    assert got.change_text == "-20.0%"
    assert "fell 20.0%" in got.why


def test_achieved_rate_floor_of_half_a_request_per_second(base: dict[str, Any]) -> None:
    path = "http.achieved_rate"
    assert not regressed(with_value(base, path, 100.0), path, 99.99, tolerance=0.0)
    slow = with_value(base, path, 2.0)
    assert not regressed(slow, path, 1.5)  # -25% but exactly 0.5 req/s
    assert regressed(slow, path, 1.49)


# --------------------------------------------------------------------------- failovers


def test_failover_latency_is_judged_like_latency(base: dict[str, Any]) -> None:
    path = "failovers.latency_ms.p95"
    many = with_value(base, "failovers.latency_ms.count", 200)
    assert not regressed(many, path, 110.0)
    assert regressed(many, path, 110.01)
    assert not regressed(base, path, 1000.0)  # the worst of 4 failed-over requests: unjudged


def test_failover_latency_without_failed_over_requests_is_not_compared(
    base: dict[str, Any],
) -> None:
    none_failed = copy.deepcopy(base)
    none_failed["failovers"]["latency_ms"] = {"count": 0, "p95": 0.0}
    got = figure(run(base, none_failed), "failovers.latency_ms.p95")
    assert got.baseline is None
    assert got.now == 100.0
    assert not got.regressed
    both = run(none_failed, copy.deepcopy(none_failed))
    assert "failovers.latency_ms.p95" not in {f.figure for f in both.figures}


# --------------------------------------------------------------------------- websocket


@pytest.mark.parametrize("path", ["ws.gaps", "ws.duplicates", "ws.broken_links"])
def test_websocket_continuity_regresses_on_any_increase(base: dict[str, Any], path: str) -> None:
    assert not regressed(base, path, 0)
    assert regressed(base, path, 1)
    assert regressed(base, path, 1, tolerance=5.0)  # whatever the tolerance
    worse = with_value(base, path, 2)
    assert not regressed(worse, path, 1)
    got = figure(run(with_value(base, path, 2), base), path)
    assert got.unit == "count"
    assert got.change == 2
    assert got.change_text == "+2"
    assert "any increase" in got.why


def test_longest_stall_has_tolerance_and_a_fifty_millisecond_floor(base: dict[str, Any]) -> None:
    path = "ws.max_stall_ms"
    assert not regressed(base, path, 1100.0)  # at the threshold
    assert not regressed(base, path, 1099.9)
    assert regressed(base, path, 1100.1)
    short = with_value(base, path, 100.0)
    assert not regressed(short, path, 150.0)  # +50% but exactly +50 ms
    assert regressed(short, path, 150.1)


def test_websocket_null_on_one_side_is_listed_and_never_regresses(base: dict[str, Any]) -> None:
    no_ws = with_value(base, "ws", None)
    for comparison, side in ((run(base, no_ws), "baseline"), (run(no_ws, base), "now")):
        ws = [f for f in comparison.figures if f.figure.startswith("ws.")]
        assert [f.figure for f in ws] == [
            "ws.gaps",
            "ws.duplicates",
            "ws.broken_links",
            "ws.max_stall_ms",
        ]
        assert all(getattr(f, side) is None for f in ws)
        assert not any(f.regressed for f in ws)
        assert comparison.regressions == ()


def test_websocket_null_on_both_sides_is_left_out(base: dict[str, Any]) -> None:
    no_ws = with_value(base, "ws", None)
    comparison = run(no_ws, copy.deepcopy(no_ws))
    assert not any(f.figure.startswith("ws.") for f in comparison.figures)


# --------------------------------------------------------------------------- context and gaps


def test_context_figures_never_regress(base: dict[str, Any]) -> None:
    now = with_value(base, "http.requests", 10)
    now = with_value(now, "http.failovers", 400)
    comparison = run(now, base)
    assert comparison.regressions == ()
    failovers = figure(comparison, "http.failovers")
    assert failovers.change == 396
    assert failovers.change_text == "+396"
    assert figure(comparison, "http.requests").change_text == "-2990"


def test_missing_figures_are_listed_with_none(base: dict[str, Any]) -> None:
    older = copy.deepcopy(base)
    del older["http"]["latency_ms"]["uncorrected"]
    del older["http"]["achieved_rate"]
    del older["failovers"]
    older["http"]["failovers"] = "n/a"  # not a number: treated as missing
    comparison = run(base, older)
    for name in (
        "http.latency_ms.uncorrected.p95",
        "http.achieved_rate",
        "failovers.latency_ms.p95",
        "http.failovers",
    ):
        got = figure(comparison, name)
        assert got.baseline is None
        assert got.now is not None
        assert got.change is None
        assert got.change_text == "—"
        assert not got.regressed
    assert comparison.regressions == ()


def test_a_bare_result_compares_without_crashing(base: dict[str, Any]) -> None:
    comparison = run(base, {"schema": 1, "http": {}, "ws": None, "failovers": None})
    assert comparison.regressions == ()
    assert all(f.baseline is None for f in comparison.figures)


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%", 0.10),
        ("10", 0.10),
        ("0.1", 0.10),
        (" 12.5 % ", 0.125),
        ("1", 0.01),
        ("0.5", 0.5),
        ("150%", 1.5),
        ("0", 0.0),
        ("0%", 0.0),
    ],
)
def test_parse_tolerance(text: str, expected: float) -> None:
    assert parse_tolerance(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "%", "abc", "ten%", "10%%", "-5%", "-0.1", "nan", "inf"])
def test_parse_tolerance_refuses_with_one_line(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_tolerance(text)
    message = str(caught.value)
    assert "tolerance" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- loading


def load_error(path: Path) -> str:
    with pytest.raises(ValueError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_load_baseline_reads_a_file_or_a_session_folder(tmp_path: Path) -> None:
    assert load_baseline(EXAMPLE)["schema"] == 1
    folder = tmp_path / "20261121T160000Z-failover"
    folder.mkdir()
    (folder / "result.json").write_text(EXAMPLE.read_text())
    assert load_baseline(str(folder))["scenario"] == "failover"


def test_load_baseline_missing_file(tmp_path: Path) -> None:
    assert "no such file" in load_error(tmp_path / "nope.json")


def test_load_baseline_folder_without_result(tmp_path: Path) -> None:
    assert "without a result.json" in load_error(tmp_path)


def test_load_baseline_not_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": 1,\n  "http": ', encoding="utf-8")
    assert "not JSON (line 2" in load_error(broken)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not JSON" in load_error(binary)


@pytest.mark.parametrize(
    "content",
    [[1, 2], {"http": {}}, {"schema": 1}, {"schema": 1, "http": None}, "result"],
)
def test_load_baseline_not_a_result(tmp_path: Path, content: Any) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(content), encoding="utf-8")
    assert "not a battletui result.json" in load_error(other)


# --------------------------------------------------------------------------- output


def test_render_markdown_puts_regressions_first(base: dict[str, Any]) -> None:
    now = with_value(base, "ws.gaps", 2)
    now = with_value(now, "http.latency_ms.corrected.p99", 500.0)
    now = with_value(now, "http.latency_ms.corrected.max", 900.0)
    lines = render_markdown(run(now, base))
    assert lines[0] == "## Against the baseline"
    count = next(line for line in lines[1:] if line)
    assert "2 regressions" in count
    assert "`base/result.json`" in count
    assert "tolerance 10%" in count
    header = lines.index("| figure | baseline | now | change | result |")
    assert lines[header + 1] == "|---|---|---|---|---|"
    rows = [line for line in lines[header + 2 :] if line.startswith("| ")]
    assert len(rows) == 15
    assert rows[0].startswith("| p99 latency (corrected) |") and "| 500.0 ms |" in rows[0]
    assert rows[0].endswith("❌ regression |")
    top = next(row for row in rows if row.startswith("| max latency (corrected) |"))
    assert top.endswith("| — one request: never judged |")
    assert rows[1].startswith("| WebSocket gaps | 0 | 2 | +2 |")
    assert all("❌" not in row for row in rows[2:])
    assert any(row.startswith("| success rate | 100.00% | 100.00% | 0.00 pt | ✅") for row in rows)
    assert all("\n" not in line for line in lines)


def test_render_markdown_without_regressions(base: dict[str, Any]) -> None:
    no_ws = with_value(base, "ws", None)
    lines = render_markdown(compare(base, no_ws, tolerance=0.05, baseline_file="b.json"))
    count = next(line for line in lines[1:] if line)
    assert "No regressions" in count
    assert "tolerance 5%" in count
    assert not any("❌" in line for line in lines)
    assert any("not in the baseline" in line for line in lines)
    single = render_markdown(run(with_value(base, "ws.duplicates", 1), base))
    assert "❌ 1 regression**" in next(line for line in single[1:] if line)


def test_to_json_round_trips(base: dict[str, Any]) -> None:
    now = with_value(base, "http.success_rate", 0.9)
    now = with_value(now, "ws", None)
    comparison = run(now, base)
    data = comparison.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["file"] == "base/result.json"
    assert data["tolerance"] == TOLERANCE
    assert [r["figure"] for r in data["regressions"]] == ["http.success_rate"]
    assert set(data["regressions"][0]) == {
        "figure",
        "label",
        "unit",
        "baseline",
        "now",
        "change",
        "change_text",
        "why",
    }
    assert len(data["figures"]) == len(comparison.figures)
    assert data["figures"][0]["regressed"] is False
