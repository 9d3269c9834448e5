"""A ``SessionLink`` to a session in this process (the protocol lives in ``control.link``)."""

from __future__ import annotations

from pathlib import Path

from battletui.control.link import SessionLink
from battletui.engine.outcome import ActionOutcome, ActionSource
from battletui.engine.session import Session
from battletui.metrics import Snapshot
from battletui.scenario import Action

__all__ = ["LocalSessionLink", "SessionLink"]


class LocalSessionLink:
    """A ``SessionLink`` to a ``Session`` running in this process."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def start(self) -> None:
        await self._session.start()

    def snapshot(self) -> Snapshot:
        return self._session.snapshot()

    async def apply(self, action: Action, source: ActionSource = "key") -> ActionOutcome:
        return await self._session.apply(action, source)

    async def finish(self, reason: str) -> Path | None:
        if self._session.phase == "starting":
            return None
        return await self._session.finish(reason)
