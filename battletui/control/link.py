"""The seam between a viewer (the TUI) and a session.

A viewer is handed one of these and never touches the engine otherwise: it reads frozen
snapshots and sends actions. ``OwnedSessionLink`` (``control.engine_link``) starts the engine
process; ``RemoteSessionLink`` (``battletui.control.client``) follows one over the control API.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.metrics import Event, Snapshot
from battletui.scenario import Action


class SessionLink(Protocol):
    @property
    def lost(self) -> bool:
        """True once the session can no longer be followed (its engine went away)."""

    @property
    def lost_reason(self) -> str | None:
        """Why, in one line."""

    @property
    def reconnecting(self) -> bool:
        """True while a dropped stream is being reconnected (the engine still lives)."""

    @property
    def viewer_events(self) -> Sequence[Event]:
        """Events of the viewer's own link (a reconnect, how long it was away)."""

    async def start(self) -> None:
        """Start (or join) the session; raises with a one-line reason if it cannot."""

    def snapshot(self) -> Snapshot:
        """The latest frozen picture of the session."""

    async def apply(
        self, action: Action, source: ActionSource = "key", *, at: float | None = None
    ) -> ActionOutcome:
        """Apply an action; the outcome says whether it took effect. ``at``: the session
        offset a mark is stamped with (when its key was pressed), instead of now."""

    async def finish(self, reason: str) -> Path | None:
        """End the session and write it (returns its folder), or just leave it (None)."""
