"""The outputs name the system under test, and a baseline of another one is never compared
silently: one line in the report and the summary, ``target_mismatch`` in result.json."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from conftest import REPO

from battletui.report import render_report
from battletui.report.baseline import against_baseline, compare, load_baseline, render_markdown
from battletui.report.summary import print_summary
from battletui.report.target import describe_target, same_target

EXAMPLE = REPO / "tests" / "data" / "example_result.json"

REFERENCE = {
    "kind": "reference",
    "http": "http://127.0.0.1:40001",
    "ws": "ws://127.0.0.1:40001",
    "observers": ["health", "events", "upstream header X-Upstream"],
    "upstream_header": "X-Upstream",
}
HAPROXY = {
    "kind": "external",
    "http": "http://127.0.0.1:8600",
    "ws": None,
    "observers": ["prometheus lasso", "upstream header X-ERPC-Upstream"],
    "upstream_header": "X-ERPC-Upstream",
}


@pytest.fixture
def old() -> dict[str, Any]:
    """A result.json written before targets existed (no ``target``)."""
    result = load_baseline(EXAMPLE)
    assert "target" not in result
    return result


def with_target(result: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(result)
    changed["target"] = target
    return changed


def test_same_target_rules(old: dict[str, Any]) -> None:
    reference = with_target(old, REFERENCE)
    moved = with_target(old, {**REFERENCE, "http": "http://127.0.0.1:40999"})
    assert same_target(reference, old)  # no target: the reference gateway
    assert same_target(reference, moved)  # the reference gateway, whatever its port
    assert not same_target(with_target(old, HAPROXY), old)
    other = with_target(old, {**HAPROXY, "http": "http://127.0.0.1:8700"})
    assert not same_target(with_target(old, HAPROXY), other)
    assert same_target(with_target(old, HAPROXY), with_target(old, dict(HAPROXY)))


def test_describe_target() -> None:
    assert describe_target(REFERENCE) == (
        "the reference gateway (observed via health, events, upstream header X-Upstream)"
    )
    assert describe_target(HAPROXY) == (
        "http://127.0.0.1:8600 (external; observed via prometheus lasso, "
        "upstream header X-ERPC-Upstream)"
    )
    header_only = {**HAPROXY, "observers": ["upstream header X-Upstream"]}
    assert describe_target(header_only) == (
        "http://127.0.0.1:8600 (external; breakers not observed (n/a); "
        "observed via upstream header X-Upstream)"
    )
    bare = {**HAPROXY, "observers": [], "upstream_header": None}
    assert describe_target(bare) == (
        "http://127.0.0.1:8600 (external; breakers not observed (n/a); no upstream header)"
    )
    assert describe_target({"kind": "reference"}) == "the reference gateway"


def test_a_baseline_of_another_target_is_flagged_not_failed(old: dict[str, Any]) -> None:
    now = with_target(old, HAPROXY)
    comparison = compare(now, old, tolerance=0.1, baseline_file="base/result.json")
    note = (
        "different systems under test: this run measured http://127.0.0.1:8600 (external), "
        "the baseline the reference gateway"
    )
    assert comparison.target_mismatch and comparison.target_note == note
    data = comparison.to_json()
    assert data["target_mismatch"] is True and data["target_note"] == note
    assert f"⚠️ {note}." in render_markdown(comparison)

    decorated = copy.deepcopy(now)
    decorated["verdict"] = "pass"
    against_baseline(old, tolerance=0.1, baseline_file="base/result.json")(decorated)
    assert decorated["baseline"]["target_mismatch"] is True
    assert decorated["verdict"] == "pass"  # identical figures: a mismatch alone never fails
    out = io.StringIO()
    print_summary(decorated, out)
    assert f"  note  {note}\n" in out.getvalue()
    report = render_report(decorated)
    assert report.count(note) == 1
    assert "System under test: http://127.0.0.1:8600 (external; observed via prometheus" in report


def test_the_same_target_says_nothing(old: dict[str, Any]) -> None:
    comparison = compare(
        with_target(old, REFERENCE), old, tolerance=0.1, baseline_file="base/result.json"
    )
    assert not comparison.target_mismatch
    assert comparison.to_json()["target_mismatch"] is False
    assert not any("different systems" in line for line in render_markdown(comparison))
    report = render_report(old)  # an old result: the reference gateway
    assert "System under test: the reference gateway" in report
