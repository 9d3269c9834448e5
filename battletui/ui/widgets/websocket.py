"""The WebSocket panel: is the stream of new heads whole? Counters turn red when not."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot


def _counter(text: Text, label: str, value: int, *, bad_when_nonzero: bool = True) -> None:
    text.append(f"{label} ", style="dim")
    style = "bold white on red" if bad_when_nonzero and value else "bold green"
    text.append(f" {value:,} ", style=style)
    text.append("  ")


class WebSocketPanel(Static):
    DEFAULT_CSS = """
    WebSocketPanel { border: round $primary; padding: 0 1; height: 4; }
    WebSocketPanel.-off { display: none; }
    """

    def on_mount(self) -> None:
        self.border_title = "websocket · newHeads through the gateway"

    def show(self, snap: Snapshot) -> None:
        ws = snap.ws
        self.set_class(ws is None, "-off")
        if ws is None:
            return
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f"{ws.connected}/{ws.subscribers} subscribers", style="bold")
        top.append(" · head ", style="dim")
        top.append("—" if ws.head is None else f"#{ws.head:,}", style="bold")
        top.append(f" · {ws.heads:,} heads received", style="dim")
        top.append(" · served by ", style="dim")
        if not ws.serving_observed:
            top.append("n/a", style="dim")  # the gateway does not say
        else:
            top.append(ws.serving or "nobody", style="bold cyan" if ws.serving else "bold red")
        top.append(" · waiting ", style="dim")
        stall_style = "bold red" if ws.current_stall_ms > 3000 else "bold"
        top.append(f"{ws.current_stall_ms / 1000:.1f}s", style=stall_style)
        top.append(f" · longest stall {ws.max_stall_ms / 1000:.1f}s", style="dim")
        counters = Text(no_wrap=True, overflow="ellipsis")
        if (self.size.height or 2) < 2:  # a short screen: one line says what matters
            counters.append("ws ", style="bold")
            counters.append(f"{ws.connected}/{ws.subscribers} ", style="bold")
        _counter(counters, "gaps", ws.gaps)
        if ws.missing_blocks:
            counters.append(f"({ws.missing_blocks:,} blocks missing)  ", style="red")
        _counter(counters, "duplicates", ws.duplicates)
        _counter(counters, "reorgs", ws.reorgs, bad_when_nonzero=False)
        _counter(counters, "broken links", ws.broken_links)
        _counter(counters, "reconnects", ws.reconnects)
        if (self.size.height or 2) < 2:
            counters.append("via ", style="dim")
            counters.append(ws.serving or "—" if ws.serving_observed else "n/a", style="cyan")
            self.update(counters)
            return
        self.update(Group(counters, top))
