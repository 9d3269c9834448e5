"""The report says, per phase, whether the SLOs held; phases too short to measure are left out."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import small_scenario
from helpers.verdicts import assert_verdict

from battletui.engine import Session
from battletui.scenario import Action, SloSpec, TimelineEntry


async def test_an_outage_phase_breaks_the_slos_and_the_ones_around_it_hold(tmp_path: Path) -> None:
    scenario = small_scenario(
        duration=6.0,
        rate=40,
        slo=SloSpec(success_rate=0.95),
        timeline=(
            TimelineEntry(1.0, Action("kill", "alpha")),
            TimelineEntry(1.3, Action("kill", "beta")),  # alpha alone: 0.3 s, no whole second
            TimelineEntry(1.4, Action("kill", "gamma")),
            TimelineEntry(3.5, Action("restore", "alpha")),
        ),
    )
    session = Session(scenario, sessions_root=tmp_path)
    await session.start()
    folder = await session.wait_finished()
    result = json.loads((folder / "result.json").read_text())
    phases = {phase["label"]: phase for phase in result["phases"]}
    assert "kill alpha" not in phases and "kill alpha + kill beta" not in phases, list(phases)
    assert phases["before any fault"]["slos_held"] is True
    outage = phases["kill alpha + kill beta + kill gamma"]
    assert outage["slos_held"] is False
    assert [s["name"] for s in outage["slos"] if s["passed"] is False] == ["success_rate"]
    # the session's verdict counts the outage (success rate: no generator delay can fake it)
    assert result["slo_verdict"] == "fail"
    assert_verdict(result, "fail")
    report = (folder / "report.md").read_text()
    assert "| kill alpha + kill beta + kill gamma |" in report
    assert "✘ success_rate |" in report and "✔ held |" in report


def test_restore_all_cuts_once_and_a_pause_is_a_phase_of_its_own() -> None:
    from battletui.report.phases import phase_windows

    def act(offset: float, kind: str, target: str | None = None, **params: object) -> dict:  # type: ignore[type-arg]
        return {"offset": offset, "kind": kind, "target": target, "params": params, "applied": True}

    actions = [
        act(10, "kill", "alpha"),
        act(14, "load", value="pause"),
        act(20, "load", value=150.0),  # a new rate: no cut
        act(24, "load", value="resume"),
        act(28, "restore", "alpha"),
        act(28.01, "restore", "beta"),  # nothing was wrong with beta or gamma
        act(28.02, "restore", "gamma"),
    ]
    windows = phase_windows(actions, 40, "fastest")
    assert [(w.start, w.end, w.label) for w in windows] == [
        (0.0, 10, "before any fault"),
        (10, 14, "kill alpha"),
        (14, 24, "kill alpha + load paused"),
        (24, 28, "kill alpha"),
        (28, 40, "after restore alpha"),
    ]
