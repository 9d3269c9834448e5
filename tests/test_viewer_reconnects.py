"""A viewer's stream dropped or blackholed mid-session, through a real proxy between the
screen and a real engine's control API: the screen stays, says ``reconnecting…``, logs how
long it was away, and ``q`` still ends and writes the session. Only the engine's death (or,
for a viewer that did not start it, the session's end) takes the screen away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import small_scenario
from helpers.orphans import wait_all_gone
from helpers.proxy import FlakyProxy
from helpers.screen import svg_lines
from helpers.waiting import wait_until

from battletui.control.client import RemoteSessionLink
from battletui.control.engine_link import OwnedSessionLink
from battletui.control.files import engine_alive, read_control
from battletui.ui import BattleApp

SILENCE_NOTICED = 20.0
"""Bound on noticing a blackholed stream: its silence (5 s) plus a failed reconnect's own
open timeout (5 s), with room for a busy machine."""


@pytest.fixture
async def proxy() -> AsyncIterator[FlakyProxy]:
    flaky = FlakyProxy()
    await flaky.start()
    yield flaky
    await flaky.stop()


def top_line(app: BattleApp) -> str:
    return svg_lines(app.export_screenshot())[0]


def reconnects(link: OwnedSessionLink | RemoteSessionLink) -> list[str]:
    return [e.text for e in link.viewer_events if "reconnected" in e.text]


async def test_the_owners_screen_rides_out_a_dropped_and_a_blackholed_stream(
    tmp_path: Path, proxy: FlakyProxy
) -> None:
    link = OwnedSessionLink(small_scenario(rate=20), sessions_root=tmp_path, route=proxy.route)
    app = BattleApp(link, owner=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(lambda: link.snapshot().elapsed > 0, timeout=20, what="a snapshot")
        # a newer one can only come from the stream: it flows through the proxy, so the drop
        # below cuts it (the first snapshot is fetched over HTTP before the stream connects)
        first = link.snapshot().elapsed
        await wait_until(
            lambda: link.snapshot().elapsed > first, timeout=20, what="the stream flowing"
        )
        engine = link.engine_pid
        assert engine is not None
        proxy.drop()
        await wait_until(lambda: len(reconnects(link)) == 1, timeout=10, what="a reconnect")
        assert app.is_running and not link.lost

        proxy.blackhole()
        await wait_until(
            lambda: link.reconnecting, timeout=SILENCE_NOTICED, what="the silence noticed"
        )
        await wait_until(  # the screen redraws on its own timer
            lambda: "reconnecting…" in top_line(app), timeout=5, what="the top line to say so"
        )
        assert app.is_running and app.return_value is None  # the screen stays
        proxy.forward()
        await wait_until(lambda: len(reconnects(link)) == 2, timeout=20, what="the second one")
        await wait_until(
            lambda: "reconnecting…" not in top_line(app), timeout=5, what="the top line mended"
        )
        screen = "\n".join(svg_lines(app.export_screenshot()))
        assert "stream was away" in screen  # the event log says how long

        await pilot.press("q")
        await wait_until(
            lambda: app.return_value is not None, timeout=60, what="q to hand back the folder"
        )
    folder = app.return_value
    assert folder == link.session_dir and folder is not None
    assert (folder / "report.md").is_file() and (folder / "result.json").is_file()
    assert app.return_code == 0
    assert wait_all_gone([engine]) == []


async def test_a_viewer_that_did_not_start_it_reconnects_and_leaves_when_it_ends(
    tmp_path: Path, proxy: FlakyProxy
) -> None:
    owner = OwnedSessionLink(small_scenario(rate=20), sessions_root=tmp_path)
    await owner.start()
    try:
        folder = owner.session_dir
        assert folder is not None
        url, token = read_control(folder)
        viewer = RemoteSessionLink(
            proxy.route(url), token, owner=False, engine_alive=lambda: engine_alive(folder)
        )
        await viewer.start()
        first = viewer.snapshot().elapsed
        await wait_until(
            lambda: viewer.snapshot().elapsed > first, timeout=10, what="the stream flowing"
        )
        proxy.drop()
        await wait_until(lambda: len(reconnects(viewer)) == 1, timeout=10, what="a reconnect")
        assert not viewer.lost
        proxy.blackhole()
        await wait_until(
            lambda: viewer.reconnecting, timeout=SILENCE_NOTICED, what="the silence noticed"
        )
        written = await owner.finish("quit")  # the session ends while the viewer is away
        await wait_until(lambda: viewer.lost, timeout=20, what="the viewer to leave")
        assert written == folder and viewer.lost_reason
        await viewer.close()
    finally:
        await owner.finish("quit")
