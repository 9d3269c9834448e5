"""``parse_action``: an action from outside a file, checked by the timeline entry's rules."""

from __future__ import annotations

from typing import Any

import pytest

from battletui.scenario import Action, ScenarioError, loads_scenario, parse_action

IDS = ("alpha", "beta", "gamma")


@pytest.mark.parametrize(
    "action",
    [
        Action("kill", "alpha"),
        Action("restore", "beta"),
        Action(
            "degrade", "alpha", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
        ),
        Action(
            "degrade", "alpha", {"latency": 1e-7, "jitter": 0.0, "relative": True, "method": ""}
        ),
        Action(
            "degrade",
            "gamma",
            {"latency": 0.8, "jitter": 0.0, "relative": False, "method": "eth_x"},
        ),
        Action("flap", "alpha", {"down": 2.0, "up": 3.0, "cycles": 0}),
        Action(
            "errors",
            "beta",
            {"rate": 0.5, "kind": "rate-limit", "code": -32603, "retry_after": 1.0},
        ),
        Action("hang", "gamma"),
        Action("reorg", None, {"depth": 2}),
        Action("strategy", None, {"name": "round-robin"}),
        Action("mark", None, {"label": "mark 1 at 00:10"}),
        Action("load", None, {"value": "pause"}),
        Action("load", None, {"value": "resume"}),
        Action("load", None, {"value": 150.0}),
    ],
)
def test_a_normalised_action_reads_back_as_itself(action: Action) -> None:
    """What the TUI's keys build passes unchanged."""
    assert parse_action(action.kind, action.target, dict(action.params), IDS) == action


@pytest.mark.parametrize(
    ("kind", "target", "params", "entry"),
    [
        (
            "degrade",
            "beta",
            {"latency": "+100ms", "jitter": "+20ms"},
            "{degrade: beta, latency: +100ms, jitter: +20ms}",
        ),
        (
            "degrade",
            "beta",
            {"latency": "250ms", "method": "eth_getLogs"},
            "{degrade: beta, latency: 250ms, method: eth_getLogs}",
        ),
        (
            "errors",
            "beta",
            {"rate": 0.5, "kind": "rate-limit"},
            "{errors: beta, rate: 0.5, kind: rate-limit}",
        ),
        ("flap", "alpha", {"down": "1s", "cycles": 2}, "{flap: alpha, down: 1s, cycles: 2}"),
        ("reorg", None, {"depth": 3}, "{reorg: 3}"),
        ("strategy", None, {"name": "priority"}, "{strategy: priority}"),
        ("mark", None, {"label": "gateway recovered"}, "{mark: gateway recovered}"),
        ("load", None, {"value": "pause"}, "{load: pause}"),
        ("load", None, {"value": 300}, "{load: 300}"),
    ],
)
def test_human_forms_read_as_a_timeline_entry_does(
    kind: str, target: str | None, params: dict[str, Any], entry: str
) -> None:
    scenario = loads_scenario(
        "name: t\nduration: 60s\nproviders: [{id: alpha}, {id: beta}, {id: gamma}]\n"
        f"timeline:\n  - {{at: 1s, {entry[1:]}\n",
        path="t.yaml",
        fmt="yaml",
    )
    assert parse_action(kind, target, params, IDS) == scenario.timeline[0].action


@pytest.mark.parametrize(
    ("kind", "target", "params", "field", "says"),
    [
        ("explode", "alpha", {}, "kind", "unknown action 'explode' (known: kill, restore"),
        ("kill", "zeta", {}, "target", "unknown provider 'zeta' (known: alpha, beta, gamma)"),
        ("kill", None, {}, "target", "kill needs a target provider"),
        ("kill", "alpha", {"foo": 1}, "foo", "unknown parameter for kill (known: none)"),
        ("degrade", "alpha", {"latncy": "1s"}, "latncy", "(known: latency, jitter, method)"),
        ("degrade", "alpha", {}, "latency", "required key is missing"),
        ("degrade", "alpha", {"latency": "+100ms", "jitter": "20ms"}, "jitter", "both start"),
        ("degrade", "alpha", {"latency": "fast"}, "latency", "expected a duration"),
        ("degrade", "alpha", {"latency": -0.1, "relative": True}, "latency", "zero or more"),
        ("degrade", "alpha", {"latency": 0.1, "relative": "yes"}, "relative", "true or false"),
        ("kill", "alpha", {"relative": True}, "relative", "unknown parameter for kill"),
        ("errors", "beta", {"rate": "0.5"}, "rate", "expected a number, got '0.5'"),
        ("errors", "beta", {"rate": 2}, "rate", "between 0 and 1"),
        ("errors", "beta", {"rate": 1, "kind": "teapot"}, "kind", "unknown error kind 'teapot'"),
        ("reorg", None, {"depth": 100}, "depth", "depth at most 64"),
        ("reorg", None, {}, "depth", "required key is missing"),
        ("reorg", "alpha", {"depth": 1}, "target", "reorg takes no target"),
        ("strategy", None, {"name": "random"}, "name", "unknown strategy 'random'"),
        ("mark", None, {"label": " "}, "label", "must not be empty"),
        ("load", None, {"value": "faster"}, "value", "expected pause, resume or a rate"),
        ("load", None, {"value": 0}, "value", "pause the load instead"),
        ("load", None, {"value": 1e9}, "value", "between 0 and 200000"),
        ("load", "alpha", {"value": 5}, "target", "load takes no target"),
    ],
)
def test_invalid_actions_say_which_field(
    kind: str, target: str | None, params: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_action(kind, target, params, IDS)
    assert caught.value.field == field
    assert says in caught.value.message
    assert "\n" not in str(caught.value)
