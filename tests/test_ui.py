"""The live TUI, driven the way an operator drives it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from conftest import small_scenario, wait_until
from fake_link import FakeLink

from battletui.engine import JOURNAL_NAME, LocalSessionLink, Session, read_journal
from battletui.scenario import Action
from battletui.ui import BattleApp


def screen_text(app: BattleApp) -> str:
    """What a person reads on the screen: the SVG export with the markup stripped."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def test_kill_key_shows_down_breaker_open_and_journals(tmp_path: Path) -> None:
    session = Session(small_scenario(rate=40), sessions_root=tmp_path)
    app = BattleApp(LocalSessionLink(session))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(lambda: session.phase == "running", what="the session to start")
        await wait_until(
            lambda: all(p.health == "UP" for p in session.snapshot().providers),
            what="every provider UP",
        )
        await pilot.press("1", "k")

        def alpha() -> Any:
            return next(p for p in session.snapshot().providers if p.id == "alpha")

        await wait_until(
            lambda: alpha().breaker == "OPEN" and alpha().health == "DOWN",
            timeout=3,
            what="alpha DOWN with its breaker OPEN",
        )
        assert session.dir is not None
        journal = list(read_journal(session.dir / JOURNAL_NAME))
        assert any(
            e["type"] == "action"
            and e["kind"] == "kill"
            and e["target"] == "alpha"
            and e["source"] == "key"
            and e["applied"]
            for e in journal
        )
        await pilot.pause(0.3)
        screen = screen_text(app)
        assert "DOWN" in screen and "OPEN" in screen
        assert "kill alpha" in screen
        await pilot.press("q")
        await wait_until(lambda: session.phase == "ended", timeout=10, what="the session to end")
    assert app.return_value == session.dir
    assert (session.dir / "report.md").is_file()


async def test_keys_become_actions_on_the_selected_provider() -> None:
    link = FakeLink()
    app = BattleApp(link)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("2", "d", "d", "down", "f", "up", "up", "r", "k")
        await wait_until(lambda: len(link.applied) == 5, what="five actions")
    step = {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
    assert link.applied == [
        Action("degrade", "beta", step),
        Action("degrade", "beta", step),
        Action("flap", "gamma", {"down": 2.0, "up": 3.0, "cycles": 0}),
        Action("restore", "alpha"),
        Action("kill", "alpha"),
    ]


async def test_quit_ends_the_session_and_returns_its_folder(tmp_path: Path) -> None:
    link = FakeLink(folder=tmp_path / "x")
    app = BattleApp(link)
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert link.finished_with == "quit"
    assert app.return_value == tmp_path / "x"


def test_live_screen_snapshot(snap_compare: Any) -> None:
    """Frozen snapshot, fixed size: the whole screen as a stakeholder would see it."""
    assert snap_compare(BattleApp(FakeLink()), terminal_size=(160, 45))


def test_live_screen_snapshot_small_terminal(snap_compare: Any) -> None:
    assert snap_compare(BattleApp(FakeLink()), terminal_size=(100, 30), press=["3"])


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
