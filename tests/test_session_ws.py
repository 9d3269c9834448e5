"""WebSocket load inside a real session: ws-drop verified, counters judged, result written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import small_scenario
from helpers.waiting import wait_until

from battletui.engine import Session
from battletui.scenario import (
    Action,
    ChainSpec,
    ScenarioError,
    SloSpec,
    WorkloadSpec,
    WsLoadSpec,
    dumps_scenario,
    loads_scenario,
)


def ws_session_scenario(duration: float = 30.0):  # type: ignore[no-untyped-def]
    base = small_scenario(duration=duration, rate=20)
    return dataclasses.replace(
        base,
        chain=ChainSpec(id=1, block_time=0.25),
        workload=WorkloadSpec(http=base.workload.http, ws=WsLoadSpec(subscribers=3)),
        slo=SloSpec(success_rate=0.95, ws_gaps=0, ws_duplicates=0, ws_max_stall=2.0),
    )


async def test_ws_drop_is_verified_and_the_stream_stays_whole(tmp_path: Path) -> None:
    session = Session(ws_session_scenario(), sessions_root=tmp_path)
    await session.start()
    try:
        await wait_until(
            lambda: (
                (view := session.ws_view()) is not None
                and view.heads >= 9
                and view.serving is not None
            ),
            timeout=10,
            what="three subscribers receiving heads",
        )
        view = session.ws_view()
        assert view is not None and view.connected == 3
        serving = view.serving
        assert serving is not None
        marked = [p for p in session.snapshot().providers if p.serving_ws]
        assert [p.id for p in marked] == [serving]
        outcome = await session.apply(Action("ws-drop", serving), "key")
        assert outcome.applied, outcome.error
        assert "probe saw 1001" in outcome.detail
        heads_then = session.ws_view().heads  # type: ignore[union-attr]
        await wait_until(
            lambda: session.ws_view().heads >= heads_then + 12,  # type: ignore[union-attr]
            timeout=10,
            what="the stream to go on after the drop",
        )
        down = await session.apply(Action("kill", "gamma"))
        refused = await session.apply(Action("ws-drop", "gamma"))
        assert down.applied and not refused.applied
        assert refused.error and "restore it first" in refused.error
    finally:
        folder = await session.finish("quit")
    result = json.loads((folder / "result.json").read_text())
    ws = result["ws"]
    assert ws["subscribers"] == 3 and ws["heads"] > 20
    assert (ws["gaps"], ws["duplicates"], ws["broken_links"]) == (0, 0, 0)
    assert ws["max_stall_ms"] < 2000
    assert ws["reconnects"] == 0, "ending the session is not a reconnect"
    slos = {s["name"]: s for s in result["slos"]}
    assert slos["ws_gaps"]["passed"] and slos["ws_duplicates"]["passed"]
    assert slos["ws_max_stall"]["passed"] and slos["ws_max_stall"]["unit"] == "ms"
    report = (folder / "report.md").read_text()
    assert "## WebSocket continuity" in report
    recorded = (folder / "scenario.yaml").read_text()
    assert "ws-drop:" in recorded and "subscribers: 3" in recorded


def test_ws_slos_without_subscribers_are_refused_before_they_could_only_fail() -> None:
    """Once, a ws SLO with no WebSocket load ran and failed for want of data; now the file
    is refused with one line (the SLO could never be met)."""
    scenario = dataclasses.replace(small_scenario(duration=1.0, rate=10), slo=SloSpec(ws_gaps=0))
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(dumps_scenario(scenario, "yaml"), path="s.yaml", fmt="yaml")
    assert caught.value.field == "slo.ws_gaps"
    assert "there are none (set workload.ws.subscribers)" in caught.value.message
