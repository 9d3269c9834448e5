"""The overlay behind ``?``: every key and what it does, so nobody has to find Ctrl+P.

One table (``KEY_HELP``) is the source for the overlay; the app's bindings carry the short
words the footer shows.
"""

from __future__ import annotations

from typing import ClassVar, Final

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_HELP: Final = (
    (
        "the selected provider (1-9, ↑ ↓ select it)",
        (
            ("k", "kill: it refuses every connection"),
            ("f", "flap: down 2 s, up 3 s, until restored"),
            ("d", "degrade: +100 ms latency (±20 ms jitter) on top, each press"),
            ("e", "errors: 25 % → 50 % → 100 % → off of the kind E chose"),
            ("E", "error kind: server-error → rate-limit → rpc-error"),
            ("h", "hang: accepts and never answers"),
            ("l", "lag: its head stops moving"),
            ("w", "ws-drop: closes its WebSocket subscriptions"),
            ("r", "restore: clears every fault of this provider"),
        ),
    ),
    (
        "the session",
        (
            ("R", "restore all: clears every fault of every provider"),
            ("o", "reorg: replaces the chain's last 2 blocks"),
            ("s", "strategy: the gateway's next selection strategy"),
            ("space", "pause / resume the load (the top line shows PAUSED)"),
            ("+ -", "target rate one step up / down"),
            ("m", "mark this moment (the report points at it)"),
        ),
    ),
    (
        "the screen",
        (
            ("?", "this help (any key closes it)"),
            ("q  ctrl+q", "end the session and write it (report.md, result.json)"),
        ),
    ),
)
"""(section, ((key, what it does), ...)) for every key of the live screen."""


KEY_WIDTH: Final = 10


def help_text(*, owner: bool = True) -> Text:
    """Sections of ``key   what it does`` lines; a line too long for the screen wraps under
    its words, never under the keys."""
    text = Text()
    for index, (section, keys) in enumerate(KEY_HELP):
        if index:
            text.append("\n")
        text.append(f"{section}\n", style="bold underline")
        for key, words in keys:
            if key.startswith("q") and not owner:
                words = "leave this screen (the session runs on; its owner ends it)"
            text.append(key.ljust(KEY_WIDTH), style="bold cyan")
            text.append(f"{words}\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen[None]):
    """Dismissed by any key: a room should never be stuck behind the help."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 2; border: thick $accent; background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "close")]

    def __init__(self, *, owner: bool = True, view_only: bool = False) -> None:
        super().__init__()
        self._owner = owner
        self._view_only = view_only

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "keys"
            if self._view_only:
                yield Static(
                    Text(
                        "Watching a replay: the keys that act on a session are off, so the "
                        "run stays the scenario. q ends it early (the session is written).\n",
                        style="bold yellow",
                    )
                )
            yield Static(help_text(owner=self._owner))

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
