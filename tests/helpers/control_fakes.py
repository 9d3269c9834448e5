"""A fake session behind a real ``ControlServer``: for the control API and ``ctl`` tests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.engine.control_server import ControlServer
from battletui.metrics import Snapshot
from battletui.scenario import Action
from helpers.fake_link import frozen_snapshot

TOKEN = "test-token-0123456789"


class FakeSession:
    """Implements ``ControlledSession``; each snapshot's ``requests`` counts the builds."""

    def __init__(self, folder: Path) -> None:
        self.phase = "running"
        self.dir: Path | None = folder
        self.result: dict[str, Any] | None = None
        self.write_error: str | None = None
        self.base = frozen_snapshot()
        self.builds = 0
        self.applied: list[tuple[Action, ActionSource]] = []
        self.verified = True
        self.finish_reason: str | None = None
        self._finishing: asyncio.Task[Path] | None = None

    def snapshot(self) -> Snapshot:
        self.builds += 1
        ended = self.phase == "ended"
        return dataclasses.replace(
            self.base,
            phase=self.phase,  # type: ignore[arg-type]
            requests=self.builds,
            session_dir=str(self.dir) if ended else None,
        )

    async def apply(
        self, action: Action, source: ActionSource, *, at: float | None = None
    ) -> ActionOutcome:
        self.applied.append((action, source))
        if self.verified:
            return ActionOutcome(action, 12.5, source, True, "port 40001 refuses connections")
        return ActionOutcome(action, 12.5, source, False, error="port 40001 still answers")

    def request_finish(self, reason: str) -> asyncio.Task[Path]:
        if self._finishing is None:
            self._finishing = asyncio.create_task(self._finish(reason))
        return self._finishing

    async def _finish(self, reason: str) -> Path:
        self.finish_reason = reason
        self.phase = "ending"
        await asyncio.sleep(0.05)  # stands for draining and writing the report
        self.result = {"verdict": "pass"}
        self.phase = "ended"
        assert self.dir is not None
        return self.dir


@asynccontextmanager
async def serving(
    folder: Path, *, hz: float = 50.0
) -> AsyncIterator[tuple[ControlServer, FakeSession]]:
    session = FakeSession(folder)
    server = ControlServer(session, TOKEN, hz=hz)
    await server.start()
    try:
        yield server, session
    finally:
        await server.stop()
