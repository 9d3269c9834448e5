"""The live TUI, driven the way an operator drives it."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_link import FakeLink, frozen_snapshot
from helpers.waiting import wait_until

from battletui.metrics import InstrumentView
from battletui.scenario import Action, ParamValue
from battletui.ui import BattleApp
from battletui.ui.widgets.status import behind_words


def screen_text(app: BattleApp) -> str:
    """What a person reads on the screen: the SVG export with the markup stripped."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def test_keys_become_actions_on_the_selected_provider() -> None:
    link = FakeLink()
    app = BattleApp(link)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("2", "d", "d", "down", "f", "up", "up", "r", "k")
        await wait_until(lambda: len(link.applied) == 5, what="five actions")
    step: dict[str, ParamValue] = {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
    assert link.applied == [
        Action("degrade", "beta", step),
        Action("degrade", "beta", step),
        Action("flap", "gamma", {"down": 2.0, "up": 3.0, "cycles": 0}),
        Action("restore", "alpha"),
        Action("kill", "alpha"),
    ]


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quit_ends_the_session_and_returns_its_folder(tmp_path: Path, key: str) -> None:
    """ctrl+q (Textual's own quit) ends and writes the session exactly as q does."""
    link = FakeLink(folder=tmp_path / "x")
    app = BattleApp(link)
    async with app.run_test() as pilot:
        await pilot.press(key)
        await pilot.pause()
    assert link.finished_with == "quit"
    assert app.return_value == tmp_path / "x"
    assert app.return_code == 0


def test_live_screen_snapshot(snap_compare: Any) -> None:
    """Frozen snapshot, fixed size: the whole screen as a stakeholder would see it."""
    assert snap_compare(BattleApp(FakeLink()), terminal_size=(160, 45))


def test_live_screen_snapshot_small_terminal(snap_compare: Any) -> None:
    assert snap_compare(BattleApp(FakeLink()), terminal_size=(100, 30), press=["3"])


def test_live_screen_snapshot_80x24(snap_compare: Any) -> None:
    """The smallest common terminal: verdicts, every provider, the latest events, the keys."""
    assert snap_compare(BattleApp(FakeLink()), terminal_size=(80, 24))


async def test_every_size_keeps_verdicts_providers_events_and_keys() -> None:
    for size in ((80, 24), (100, 30), (120, 35), (160, 45), (200, 60)):
        app = BattleApp(FakeLink())
        wanted = ("NOW ✔", "SESSION ✔", "? help", "q quit", "gamma SLOW (312ms)")
        async with app.run_test(size=size):
            # a loaded machine may take a few frames to lay every panel out
            await wait_until(
                lambda: all(words in screen_text(app) for words in wanted),  # noqa: B023
                timeout=10,
                what=f"every part of the screen at {size}",
            )
            text = screen_text(app)
        for provider, state, breaker in (
            ("alpha", "DOWN", "OPEN"),
            ("beta", "UP", "CLOSED"),
            ("gamma", "SLOW", "HALF-OPEN"),
        ):
            row = next(line for line in text.splitlines() if f"{provider} " in line and "●" in line)
            assert state in row and breaker in row, (size, row)


def generator_behind() -> FakeLink:
    """The frozen picture, with the load generator behind since 00:12."""
    behind = InstrumentView(
        behind=True,
        behind_since=12.0,
        saturated=True,
        behind_from=12.0,
        slip_p99_ms=18.4,
        loop_lag_ms=21.0,
        cpu_percent=98.0,
    )
    return FakeLink(dataclasses.replace(frozen_snapshot(), instrument=behind))


def test_live_screen_snapshot_generator_behind(snap_compare: Any) -> None:
    """The top line says in plain words that the latency is not the gateway's."""
    assert snap_compare(BattleApp(generator_behind()), terminal_size=(160, 45))


async def test_top_line_says_when_the_generator_is_behind_and_the_verdict_is_inconclusive() -> None:
    for size, words in (
        (
            (160, 45),
            "⚠ load generator behind since 00:12 — latency not a measurement of the gateway",
        ),
        ((100, 30), "⚠ generator behind"),  # a narrow terminal: the short words
    ):
        app = BattleApp(generator_behind())
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.2)
            top = next(line for line in screen_text(app).splitlines() if " battletui " in line)
        assert words in top, top
        assert "INCONCLUSIVE" in top and "FAIL" not in top and "PASS" not in top


async def test_top_line_of_a_lab_session_names_no_duration_rate_or_verdict() -> None:
    """``battletui attach`` on ``battletui lab``: the load is someone else's, nothing judged."""
    lab = dataclasses.replace(
        frozen_snapshot(), load=False, slos=(), elapsed=75.0, gateway_url="http://127.0.0.1:8600"
    )
    for size in ((160, 45), (80, 24)):
        app = BattleApp(FakeLink(lab))
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.2)
            top = next(line for line in screen_text(app).splitlines() if " battletui " in line)
        assert "lab · 01:15" in top and "/ 01:" not in top, top
        assert not any(word in top for word in ("PASS", "FAIL", "SLO …", "req/s")), top
        assert "no load of ours · no SLOs" in top, top
        if size[0] >= 160:
            assert "load from outside: http://127.0.0.1:8600" in top, top
        else:
            assert "load from outside:" not in top, top  # no words cut in the middle


def test_the_warning_fits_the_room_it_has() -> None:
    fell = InstrumentView(saturated=True, behind_from=75.0)
    assert behind_words(fell, 200) == (
        "⚠ load generator fell behind from 01:15 — latency not a measurement of the gateway"
    )
    assert behind_words(fell, 40) == "⚠ generator fell behind from 01:15"
    assert behind_words(fell, 5) == "⚠"
    assert behind_words(InstrumentView(), 200) is None


async def test_palette_keys_step_rates_cycle_kinds_and_act_on_chain_and_gateway() -> None:
    link = FakeLink()  # beta already injects 25% rate-limit errors in the frozen snapshot
    app = BattleApp(link)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("1", "e", "E", "2", "e", "3", "e", "h", "l", "o", "s")
        await wait_until(lambda: len(link.applied) == 7, what="seven actions")

    def errors(target: str, rate: float, kind: str) -> Action:
        return Action(
            "errors", target, {"rate": rate, "kind": kind, "code": -32603, "retry_after": 1.0}
        )

    assert link.applied == [
        errors("alpha", 0.25, "server-error"),
        errors("beta", 0.5, "rate-limit"),  # stepped up from what beta already has
        errors("gamma", 0.25, "rate-limit"),
        Action("hang", "gamma"),
        Action("lag", "gamma"),
        Action("reorg", None, {"depth": 2}),
        Action("strategy", None, {"name": "priority"}),  # the one after "fastest"
    ]


async def test_m_asks_for_a_label_and_journals_a_mark() -> None:
    link = FakeLink()
    app = BattleApp(link)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"failover done", "enter")
        await pilot.press("m", "enter")  # empty: the suggested label
        await pilot.press("m", "escape")  # cancelled: nothing
        await wait_until(lambda: len(link.applied) == 2, what="two marks")
        await pilot.pause(0.2)
    assert link.applied == [
        Action("mark", None, {"label": "failover done"}),
        Action("mark", None, {"label": "mark 2 at 00:41"}),
    ]
    assert link.stamped == [41.0, 41.0]  # the moment m was pressed, not Enter


async def test_space_pauses_and_resumes_plus_and_minus_step_the_rate_and_R_restores_all() -> None:
    link = FakeLink()  # target 100 req/s, running
    app = BattleApp(link)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("space")
        await wait_until(lambda: len(link.applied) == 1, what="a pause")
        link.snap = dataclasses.replace(link.snap, paused=True)
        app.refresh_view()
        assert "PAUSED" in screen_text(app)
        await pilot.press("space", "plus", "minus", "R")
        await wait_until(lambda: len(link.applied) == 7, what="resume, two rates, 3 restores")
    assert link.applied[:4] == [
        Action("load", None, {"value": "pause"}),
        Action("load", None, {"value": "resume"}),
        Action("load", None, {"value": 150.0}),  # one step up from 100
        Action("load", None, {"value": 75.0}),  # the frozen snapshot still says 100
    ]
    assert sorted(a.target or "" for a in link.applied[4:]) == ["alpha", "beta", "gamma"]
    assert {a.kind for a in link.applied[4:]} == {"restore"}


async def test_question_mark_opens_help_listing_every_key_and_any_key_closes_it() -> None:
    link = FakeLink()
    app = BattleApp(link)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for words in ("kill", "restore all", "pause / resume", "target rate", "ctrl+q", "mark"):
            assert words in text, words
        await pilot.press("k")  # closes the help, and is not a kill
        await pilot.pause()
        assert "restore all: clears" not in screen_text(app)
        await pilot.pause(0.1)
    assert link.applied == []


def test_rate_steps_are_round_and_bounded() -> None:
    from battletui.ui import keys

    assert keys.next_rate(100, 1) == 150
    assert keys.next_rate(100, -1) == 75
    assert keys.next_rate(250, 1) == 300  # off the ladder: the next rung
    assert keys.next_rate(1, -1) is None
    assert keys.next_rate(200_000, 1) is None


async def test_top_line_shows_the_verdict_of_now_beside_the_sessions() -> None:
    """An outage that has passed: the session failed, the last seconds hold."""
    from battletui.metrics import SloStatus

    recovered = dataclasses.replace(
        frozen_snapshot(),
        slos=(SloStatus("success_rate", ">= 99.00%", "97.10%", False),),
        now_slos=(SloStatus("success_rate", ">= 99.00%", "100.00%", True),),
        now_trend=("fail",) * 5 + ("pass",) * 5,
    )
    failing = dataclasses.replace(
        recovered, now_slos=(SloStatus("success_rate", ">= 99.00%", "12.00%", False),)
    )
    for snap, now, session in ((recovered, "NOW ✔", "SESSION ✘"), (failing, "NOW ✘", "SESSION ✘")):
        for size in ((160, 45), (100, 30), (80, 24)):
            app = BattleApp(FakeLink(snap))
            async with app.run_test(size=size) as pilot:
                await pilot.pause(0.2)
                top = screen_text(app).splitlines()
                line = next(text for text in top if "SESSION" in text)
            assert now in line and session in line, (size, line)
            if size[0] >= 100:
                assert "▮" * 10 in line, line  # the trend of now


async def test_a_watched_replay_is_view_only() -> None:
    link = FakeLink()
    app = BattleApp(link, view_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("k", "space", "plus", "R", "o", "s", "m")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "replay · view only" in text
        footer = text.strip().splitlines()[-1]
        assert "? help" in footer and "q quit" in footer and "kill" not in footer, footer
        await pilot.press("question_mark")
        await pilot.pause()
        assert "the keys that act on a session are off" in screen_text(app)
    assert link.applied == []
