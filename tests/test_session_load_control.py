"""Pausing, resuming and re-pacing the load (``space``, ``+``/``-``, ``load:`` entries)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import small_scenario
from helpers.waiting import wait_until

from battletui.engine import Session
from battletui.scenario import Action, load_scenario


def load(value: str | float) -> Action:
    return Action("load", None, {"value": value})


def seconds_after(session: Session, offset: float) -> list[int]:
    """Requests sent in each whole second that began after ``offset``."""
    assert session.metrics is not None
    return [s.requests for s in session.metrics.series if s.index >= offset + 1]


async def test_pause_stops_the_load_resume_and_a_new_rate_bring_it_back_and_replay(
    tmp_path: Path,
) -> None:
    live = Session(small_scenario(duration=60, rate=40), sessions_root=tmp_path / "live")
    await live.start()
    try:
        await wait_until(lambda: live.elapsed > 1.2, what="a second of load")
        paused = await live.apply(load("pause"), "key")
        assert paused.applied and paused.detail == "paused: 0 req/s sent", paused
        assert live.snapshot().paused
        at = paused.offset
        await wait_until(lambda: len(seconds_after(live, at)) >= 1, timeout=5, what="a paused s")
        assert seconds_after(live, at)[0] == 0
        again = await live.apply(load("pause"), "key")
        assert again.applied and again.detail == "already paused"
        faster = await live.apply(load(80), "key")
        assert faster.detail == "target 80 req/s (was 40); still paused"
        assert live.snapshot().target_rate == 80 and live.snapshot().paused
        resumed = await live.apply(load("resume"), "key")
        assert resumed.detail == "resumed at 80 req/s"
        back = resumed.offset
        await wait_until(lambda: len(seconds_after(live, back)) >= 2, timeout=6, what="2 s back")
        assert all(70 <= n <= 90 for n in seconds_after(live, back)[:2]), live.metrics
    finally:
        folder = await live.finish("quit")
    recorded = load_scenario(folder / "scenario.yaml")
    assert [e.action for e in recorded.timeline] == [
        load("pause"),
        load("pause"),  # a no-op, replayed as one
        load(80.0),
        load("resume"),
    ]
    assert "load: pause" in (folder / "scenario.yaml").read_text()

    replay = Session(recorded, sessions_root=tmp_path / "replay")
    await replay.start()
    replayed = await replay.wait_finished()
    live_actions = json.loads((folder / "result.json").read_text())["actions"]
    replay_actions = json.loads((replayed / "result.json").read_text())["actions"]
    applied = live_actions
    assert [a["params"] for a in replay_actions] == [a["params"] for a in applied]
    assert all(a["applied"] and a["source"] == "timeline" for a in replay_actions)
    for original, replayed_action in zip(applied, replay_actions, strict=True):
        assert abs(original["offset"] - replayed_action["offset"]) <= 0.050


async def test_load_actions_are_refused_where_there_is_no_rate_to_change(tmp_path: Path) -> None:
    session = Session(small_scenario(rate=20), sessions_root=tmp_path, load=False)
    await session.start()
    try:
        outcome = await session.apply(load("pause"), "api")
        assert not outcome.applied
        assert outcome.error == "no load of ours to change: the traffic comes from outside"
    finally:
        await session.finish("quit")


async def test_a_mark_keeps_the_moment_its_key_was_pressed_and_a_kill_repeated_says_so(
    tmp_path: Path,
) -> None:
    session = Session(small_scenario(rate=20), sessions_root=tmp_path)
    await session.start()
    try:
        await wait_until(lambda: session.elapsed > 1.0, what="a second")
        pressed = session.elapsed - 0.8  # m, then 0.8 s typing the label
        mark = await session.apply(Action("mark", None, {"label": "here"}), "key", at=pressed)
        assert mark.offset == pressed
        first = await session.apply(Action("kill", "alpha"), "key")
        again = await session.apply(Action("kill", "alpha"), "key")
        assert first.applied and not first.detail.startswith("already")
        assert again.applied and again.detail.startswith("already down: "), again.detail
    finally:
        folder = await session.finish("quit")
    recorded = load_scenario(folder / "scenario.yaml")
    assert recorded.timeline[0].at == round(pressed, 3)
