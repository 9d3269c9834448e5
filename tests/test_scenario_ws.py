"""The WebSocket parts of the scenario format."""

from __future__ import annotations

import pytest

from battletui.scenario import (
    Action,
    ScenarioError,
    WsLoadSpec,
    dumps_scenario,
    loads_scenario,
)

BASE = "name: x\nduration: 20s\nproviders: [{id: alpha}, {id: beta}]\n"


def test_ws_workload_slos_and_ws_drop_load_and_round_trip() -> None:
    text = BASE + (
        "gateway: {ws_stall_timeout: 2s, ws_backfill_limit: 16}\n"
        "workload: {ws: {subscribers: 4, subscription: newHeads}}\n"
        "slo: {ws_gaps: 0, ws_duplicates: 1, ws_max_stall: 2500ms}\n"
        "timeline:\n  - {at: 5s, ws-drop: beta}\n"
    )
    scenario = loads_scenario(text, path="s.yaml", fmt="yaml")
    assert scenario.workload.ws == WsLoadSpec(subscribers=4, subscription="newHeads")
    assert scenario.gateway.ws_stall_timeout == 2.0
    assert scenario.gateway.ws_backfill_limit == 16
    assert (scenario.slo.ws_gaps, scenario.slo.ws_duplicates) == (0, 1)
    assert scenario.slo.ws_max_stall == 2.5
    assert scenario.timeline[0].action == Action("ws-drop", "beta")
    for fmt in ("yaml", "toml"):
        again = loads_scenario(dumps_scenario(scenario, fmt), path=f"s.{fmt}", fmt=fmt)
        assert again == scenario


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("workload: {ws: {subscribers: -1}}\n", "s.yaml:4: workload.ws.subscribers:"),
        (
            "workload: {ws: {subscription: logs}}\n",
            "s.yaml:4: workload.ws.subscription: unknown subscription 'logs' (known: newHeads)",
        ),
        ("workload: {ws: {subscribers: 2, sub: 1}}\n", "s.yaml:4: workload.ws.sub: unknown key"),
        ("slo: {ws_gaps: -2}\n", "s.yaml:4: slo.ws_gaps:"),
        ("slo: {ws_max_stall: soon}\n", "s.yaml:4: slo.ws_max_stall:"),
        (
            "timeline:\n  - {at: 1s, ws-drop: gamma}\n",
            "s.yaml:5: timeline[0].ws-drop: unknown provider 'gamma' (known: alpha, beta)",
        ),
    ],
)
def test_bad_ws_settings_name_line_and_field(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(BASE + extra, path="s.yaml", fmt="yaml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_clocks_round_before_they_split_minutes() -> None:
    from battletui.scenario import clock, clock_tenths

    assert clock(65.9) == "01:05" and clock(0) == "00:00"
    assert clock_tenths(65.31) == "01:05.3"
    assert clock_tenths(59.97) == "01:00.0"  # never "00:60.0"
