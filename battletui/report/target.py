"""The system under test as a session's outputs name it, and whether two results share one.

``result.json``'s ``target``: ``{"kind": "reference" | "external", "http", "ws",
"observers": [...], "upstream_header"}``. Results written before targets existed have none
and count as the reference gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battletui.scenario import Scenario

REFERENCE = "reference"
EXTERNAL = "external"
HEADER_OBSERVER = "upstream header"
"""How the observers name the upstream header (read by the workload, not a breaker source)."""


def target_of_journal(entry: Mapping[str, Any] | None, scenario: Scenario) -> dict[str, Any]:
    """From the journal's ``target`` entry; without one (an old journal, or a session that
    never got that far), from the scenario as far as it says."""
    if entry is not None:
        return {
            "kind": EXTERNAL if entry.get("kind") == EXTERNAL else REFERENCE,
            "http": entry.get("http"),
            "ws": entry.get("ws"),
            "observers": [str(name) for name in entry.get("observers") or []],
            "upstream_header": entry.get("upstream_header"),
        }
    target = scenario.target
    if target is None:  # sessions before targets: the reference gateway, observed as always
        return {
            "kind": REFERENCE,
            "http": None,
            "ws": None,
            "observers": ["health", "events", f"{HEADER_OBSERVER} X-Upstream"],
            "upstream_header": "X-Upstream",
        }
    return {
        "kind": EXTERNAL,
        "http": target.http,
        "ws": target.ws,
        "observers": [],
        "upstream_header": target.observe.upstream_header,
    }


def target_of_result(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """A result's target; the reference gateway for results from before targets."""
    target = result.get("target")
    return target if isinstance(target, Mapping) else {"kind": REFERENCE}


def same_target(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two runs measured the same system: both the reference gateway (whatever port it got),
    or the same external URL."""
    first, second = target_of_result(a), target_of_result(b)
    if first.get("kind", REFERENCE) != second.get("kind", REFERENCE):
        return False
    return first.get("kind", REFERENCE) == REFERENCE or first.get("http") == second.get("http")


def target_name(target: Mapping[str, Any]) -> str:
    """``the reference gateway`` or the external URL, for one-line notes."""
    if target.get("kind", REFERENCE) == REFERENCE:
        return "the reference gateway"
    return f"{target.get('http')} (external)"


def describe_target(target: Mapping[str, Any]) -> str:
    """The report's line: what was tested and how it was observed (a result from before
    targets says only that it was the reference gateway)."""
    if "observers" not in target:
        return target_name(target)
    names = [str(name) for name in target.get("observers") or []]
    how: list[str] = []
    if not any(not name.startswith(HEADER_OBSERVER) for name in names):
        how.append("breakers not observed (n/a)")
    if names:
        how.append("observed via " + ", ".join(names))
    if not target.get("upstream_header"):
        how.append("no upstream header")
    if target.get("kind", REFERENCE) == REFERENCE:
        return f"the reference gateway ({'; '.join(how)})"
    return f"{target.get('http')} (external; {'; '.join(how)})"
