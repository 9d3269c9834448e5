"""The dialog behind ``m``: name a moment of the session so the report can point at it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class MarkDialog(ModalScreen[str | None]):
    """Returns the label typed (the suggested one if left empty), or None when cancelled."""

    DEFAULT_CSS = """
    MarkDialog { align: center middle; }
    MarkDialog > Vertical {
        width: 60; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    MarkDialog Label { margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, suggestion: str) -> None:
        super().__init__()
        self._suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Mark this moment (Enter to add, Esc to cancel)")
            yield Input(placeholder=self._suggestion, id="label")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or self._suggestion)

    def action_cancel(self) -> None:
        self.dismiss(None)
