"""The providers panel for a gateway nothing observes: ``n/a`` breakers, traffic as received."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

from helpers.fake_link import FakeLink, frozen_snapshot

from battletui.ui import BattleApp


def unobserved() -> FakeLink:
    """The frozen picture as an external gateway with no observers and no upstream header
    would give it: no breaker, no lag, no served counts; the share the providers received."""
    snap = frozen_snapshot()
    providers = tuple(
        dataclasses.replace(
            view,
            breaker="n/a",
            breaker_left=None,
            rate_limited_for=None,
            lag=None,
            share=0.0,
            served=0,
            failovers_from=0,
        )
        for view in snap.providers
    )
    assert snap.ws is not None
    ws = dataclasses.replace(snap.ws, serving=None, serving_observed=False)
    return FakeLink(dataclasses.replace(snap, providers=providers, share_source="received", ws=ws))


def test_unobserved_gateway_snapshot(snap_compare: Any) -> None:
    assert snap_compare(BattleApp(unobserved()), terminal_size=(160, 45))


async def test_unobserved_breakers_read_n_a_and_the_bars_show_what_providers_received() -> None:
    app = BattleApp(unobserved())
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        text = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")
    assert "traffic (recv)" in text
    rows = [line for line in text.splitlines() if re.search(r"\b(alpha|beta|gamma)\s+●", line)]
    assert len(rows) == 3
    assert all(" n/a " in row for row in rows)
    assert "70%" in rows[1] and "30%" in rows[2], "beta and gamma's received shares"
    assert "OPEN" not in " ".join(rows) and "CLOSED" not in " ".join(rows)
    assert "served by n/a" in text and "served by nobody" not in text, "no guess for the ws"
