"""Regenerate docs/screenshot.svg from a real demo session: alpha killed, beta degraded.

Run: python tools/screenshot.py   (takes about 20 seconds; the session goes to a temp dir)
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from battletui.commands.inputs import bundled_demo
from battletui.control.engine_link import OwnedSessionLink
from battletui.scenario import load_scenario
from battletui.ui import BattleApp

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.svg"


async def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        link = OwnedSessionLink(load_scenario(bundled_demo()), sessions_root=Path(root))
        app = BattleApp(link)
        async with app.run_test(size=(160, 45)) as pilot:
            while link.snapshot().phase != "running":
                await pilot.pause(0.1)
            await pilot.pause(6)
            await pilot.press("2", "d")
            await pilot.pause(4)
            await pilot.press("1", "k")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                await pilot.pause(0.2)
                if link.snapshot().elapsed > 17:
                    break
            app.save_screenshot(str(OUT.name), path=str(OUT.parent))
            await pilot.press("q")
            while app.is_running:
                await pilot.pause(0.1)
    print(OUT)


if __name__ == "__main__":
    asyncio.run(main())
