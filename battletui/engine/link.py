"""The seam between a viewer (the TUI) and a session.

A viewer is handed one of these and never touches the engine otherwise: it reads frozen
snapshots and sends actions. Today the session runs in the viewer's process; a later
version may put it behind the local control server without the viewer noticing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from battletui.engine.outcome import ActionOutcome, ActionSource
from battletui.engine.session import Session
from battletui.metrics import Snapshot
from battletui.scenario import Action


class SessionLink(Protocol):
    async def start(self) -> None:
        """Start the session (raises if the lab cannot start)."""

    def snapshot(self) -> Snapshot:
        """The latest frozen picture of the session."""

    async def apply(self, action: Action, source: ActionSource = "key") -> ActionOutcome:
        """Apply an action; the outcome says whether it took effect."""

    async def finish(self, reason: str) -> Path | None:
        """End the session and write it; returns its folder."""


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
