"""The event log: actions, breaker transitions and health changes, newest last."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.ui.format import LEVEL_STYLE, clock_tenths


class EventsPanel(Static):
    DEFAULT_CSS = """
    EventsPanel { border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "events"

    def show(self, snap: Snapshot) -> None:
        """The newest events that fit, one line each (a long one ends in …, never wraps)."""
        rows = max(1, self.size.height or 6)
        if snap.message:
            rows -= 1
        lines: list[Text] = []
        for event in snap.events[-rows:] if rows > 0 else ():
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{clock_tenths(event.offset)} ", style="dim")
            line.append(event.text, style=LEVEL_STYLE.get(event.level, ""))
            lines.append(line)
        if snap.message:
            lines.append(Text(f"⚠ {snap.message}", style="bold red", no_wrap=True))
        self.update(Group(*lines))
