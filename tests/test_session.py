"""A real session: providers on real ports, the gateway in front, load through sockets."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import small_scenario
from helpers.waiting import wait_until

from battletui.engine import JOURNAL_NAME, Session, read_journal
from battletui.scenario import Action, TimelineEntry, load_scenario


async def test_kill_opens_breaker_moves_traffic_and_is_journaled(tmp_path: Path) -> None:
    session = Session(small_scenario(), sessions_root=tmp_path)
    await session.start()
    try:
        await wait_until(
            lambda: session.metrics is not None and session.metrics.requests > 20,
            what="traffic to flow",
        )
        outcome = await session.apply(Action("kill", "alpha"), "key")
        assert outcome.applied, outcome.error
        assert "refuses connections" in outcome.detail

        def alpha() -> tuple[str, str]:
            view = next(p for p in session.snapshot().providers if p.id == "alpha")
            return view.health, view.breaker

        await wait_until(lambda: alpha() == ("DOWN", "OPEN"), timeout=3, what="alpha DOWN/OPEN")
        opened = int(session.elapsed)
        # The load's figures come from its worker process a few times a second: once a whole
        # second after the breaker opened is in, every answer alpha gave has been counted.
        await wait_until(
            lambda: (
                session.metrics is not None
                and bool(session.metrics.series)
                and session.metrics.series[-1].index > opened
            ),
            timeout=5,
            what="a whole second measured after the breaker opened",
        )
        served_before = dict(session.metrics.upstreams) if session.metrics else {}
        await wait_until(
            lambda: (
                session.metrics is not None
                and sum(session.metrics.upstreams.values()) - sum(served_before.values()) > 30
            ),
            what="more traffic after the kill",
        )
        assert session.metrics is not None
        assert session.metrics.upstreams["alpha"] == served_before.get("alpha", 0)
        entries = list(read_journal(session.dir / JOURNAL_NAME))  # type: ignore[operator]
        actions = [e for e in entries if e["type"] == "action"]
        assert actions and actions[0]["kind"] == "kill" and actions[0]["applied"] is True
    finally:
        folder = await session.finish("quit")
    for name in ("journal.jsonl", "scenario.yaml", "report.md", "result.json"):
        assert (folder / name).is_file(), name
    result = json.loads((folder / "result.json").read_text())
    assert result["end_reason"] == "quit"
    assert result["actions"][0]["kind"] == "kill"
    assert any(t["to"] == "OPEN" for t in result["providers"]["alpha"]["transitions"])
    assert result["http"]["requests"] > 0
    recorded = load_scenario(folder / "scenario.yaml")
    assert [e.action for e in recorded.timeline] == [Action("kill", "alpha")]
    assert recorded.duration < 30


async def test_unverifiable_action_is_an_error_and_not_recorded(tmp_path: Path) -> None:
    session = Session(small_scenario(), sessions_root=tmp_path)
    await session.start()
    try:
        assert (await session.apply(Action("kill", "beta"))).applied
        outcome = await session.apply(
            Action("degrade", "beta", {"latency": 0.1, "jitter": 0.0, "relative": True})
        )
        assert not outcome.applied
        assert outcome.error and "restore it first" in outcome.error
        message = session.snapshot().message
        assert message and "degrade beta" in message
    finally:
        folder = await session.finish("quit")
    recorded = load_scenario(folder / "scenario.yaml")
    assert [e.action.kind for e in recorded.timeline] == ["kill"]
    result = json.loads((folder / "result.json").read_text())
    assert [a["applied"] for a in result["actions"]] == [True, False]


async def test_degrade_steps_up_and_restore_clears(tmp_path: Path) -> None:
    session = Session(small_scenario(rate=20), sessions_root=tmp_path)
    await session.start()
    step = Action("degrade", "gamma", {"latency": 0.1, "jitter": 0.0, "relative": True})
    try:
        assert (await session.apply(step)).applied
        assert (await session.apply(step)).applied

        def gamma_added() -> float:
            return next(p for p in session.snapshot().providers if p.id == "gamma").added_latency_ms

        assert round(gamma_added()) == 200
        await wait_until(
            lambda: (
                next(p for p in session.snapshot().providers if p.id == "gamma").health == "SLOW"
            ),
            what="gamma SLOW",
        )
        assert (await session.apply(Action("restore", "gamma"))).applied
        assert gamma_added() == 0
    finally:
        await session.finish("quit")


async def test_recorded_session_replays_same_actions_at_same_offsets(tmp_path: Path) -> None:
    """Record actions issued by hand, replay the recording, compare the offsets."""
    live = Session(small_scenario(duration=30, rate=30), sessions_root=tmp_path / "live")
    await live.start()
    await wait_until(lambda: live.elapsed > 0.5, what="session clock")
    await live.apply(Action("kill", "alpha"), "key")
    await wait_until(lambda: live.elapsed > 1.6, what="session clock")
    await live.apply(Action("mark", None, {"label": "midway"}), "key")
    await live.apply(Action("restore", "alpha"), "key")
    await wait_until(lambda: live.elapsed > 2.5, what="session clock")
    folder = await live.finish("quit")
    recorded = load_scenario(folder / "scenario.yaml")
    assert len(recorded.timeline) == 3

    replay = Session(recorded, sessions_root=tmp_path / "replay")
    await replay.start()
    replayed = await replay.wait_finished()
    assert replay.end_reason == "completed"
    live_actions = json.loads((folder / "result.json").read_text())["actions"]
    replay_actions = json.loads((replayed / "result.json").read_text())["actions"]
    assert [(a["kind"], a["target"]) for a in replay_actions] == [
        (a["kind"], a["target"]) for a in live_actions
    ]
    assert all(a["source"] == "timeline" and a["applied"] for a in replay_actions)
    for original, again in zip(live_actions, replay_actions, strict=True):
        assert abs(original["offset"] - again["offset"]) <= 0.050, (original, again)


async def test_timeline_entries_apply_on_schedule(tmp_path: Path) -> None:
    scenario = small_scenario(
        duration=2.0,
        rate=20,
        timeline=(
            TimelineEntry(0.5, Action("kill", "beta")),
            TimelineEntry(1.0, Action("restore", "beta")),
        ),
    )
    session = Session(scenario, sessions_root=tmp_path)
    await session.start()
    folder = await session.wait_finished()
    result = json.loads((folder / "result.json").read_text())
    offsets = [a["offset"] for a in result["actions"]]
    assert [a["kind"] for a in result["actions"]] == ["kill", "restore"]
    assert abs(offsets[0] - 0.5) < 0.05 and abs(offsets[1] - 1.0) < 0.05
    assert 1.9 < result["duration_s"] < 2.5
