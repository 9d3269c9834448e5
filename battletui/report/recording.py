"""The replayable scenario of a session: its setup plus the actions as they were applied."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from battletui.scenario import MIN_SESSION, Action, Scenario, TimelineEntry


def recorded_scenario(
    scenario: Scenario,
    actions: Sequence[Mapping[str, Any]],
    *,
    end_reason: str | None,
    elapsed: float,
) -> Scenario:
    """Setup + applied actions at the offsets they were issued (failed ones are left out).

    A session that ran its course keeps its planned duration; one that was quit,
    interrupted or killed is as long as it really ran (so replaying it takes as long), and
    at least ``MIN_SESSION``.
    """
    timeline = tuple(
        TimelineEntry(
            at=round(float(a["offset"]), 3),
            action=Action(str(a["kind"]), a.get("target"), a.get("params") or {}),
        )
        for a in sorted(actions, key=lambda a: float(a["offset"]))
        if a.get("applied")
    )
    last = timeline[-1].at if timeline else 0.0
    if end_reason is None or end_reason == "completed":
        duration = max(scenario.duration, last)
    else:  # at least the shortest session a file may ask for
        duration = max(round(elapsed, 3), last, MIN_SESSION)
    return dataclasses.replace(scenario, duration=duration, timeline=timeline)
