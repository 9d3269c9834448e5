"""The event log: actions, breaker transitions and health changes, newest last."""

from __future__ import annotations

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
        rows = max(1, (self.size.height or 8) - 2)
        events = snap.events[-rows:]
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, event in enumerate(events):
            text.append(f"{clock_tenths(event.offset)} ", style="dim")
            text.append(event.text, style=LEVEL_STYLE.get(event.level, ""))
            if index < len(events) - 1:
                text.append("\n")
        if snap.message:
            if events:
                text.append("\n")
            text.append(f"⚠ {snap.message}", style="bold red")
        self.update(text)
