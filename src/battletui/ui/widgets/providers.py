"""Who is up, what their breaker says, and how much traffic each carries."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.ui.format import BREAKER_STYLE, HEALTH_STYLE, ms, share_bar


class ProvidersPanel(Static):
    DEFAULT_CSS = """
    ProvidersPanel { border: round $primary; border-title-color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "providers"

    def show(self, snap: Snapshot, selected: int) -> None:
        compact = (self.size.width or 80) < 74
        columns = [
            ("", "right", 2),
            ("provider", "left", 5),
            ("state", "left", 6),
            ("breaker", "left", 9),
            ("traffic (2 s)", "left", 10 if compact else 15),
        ]
        if not compact:
            columns += [("served", "right", 6), ("probe", "right", 6)]
        columns.append(("fault", "left", 4))
        table = Table.grid(padding=(0, 1), expand=True)
        for _, justify, width in columns:
            table.add_column(justify=justify, no_wrap=True, min_width=width)  # type: ignore[arg-type]
        table.add_row(*(Text(title, style="dim") for title, _, _ in columns))
        for view in snap.providers:
            faults = []
            if view.serving_ws:
                faults.append("⇄ws")
            if view.flapping:
                faults.append("flapping")
            if view.added_latency_ms:
                faults.append(f"+{view.added_latency_ms:.0f}ms")
            bar = share_bar(view.share, 5 if compact else 10)
            cells = [
                Text(f"{'▶' if view.key == selected else ' '}{view.key}", style="bold"),
                Text(view.id, style="bold"),
                Text(f"● {view.health}", style=HEALTH_STYLE.get(view.health, "")),
                Text(view.breaker, style=BREAKER_STYLE.get(view.breaker, "")),
                Text(f"{bar} {view.share * 100:3.0f}%"),
            ]
            if not compact:
                cells += [
                    Text(f"{view.served:,}"),
                    Text("—" if view.probe_ms is None else f"{ms(view.probe_ms)}ms"),
                ]
            fault_text = Text()
            for index, fault in enumerate(faults):
                fault_text.append(
                    ("" if index == 0 else " ") + fault,
                    style="cyan" if fault == "⇄ws" else "yellow",
                )
            cells.append(fault_text if faults else Text("—", style="dim"))
            table.add_row(*cells, style="on #2a2f45" if view.key == selected else "")
        if not snap.providers:
            table.add_row("", Text("waiting for the lab…", style="dim"))
            self.update(table)
            return
        chosen = snap.providers[min(selected, len(snap.providers)) - 1]
        detail = Text(no_wrap=True, overflow="ellipsis")
        detail.append(f"\n{chosen.id} ", style="bold")
        detail.append(f"{chosen.url}  ", style="underline")
        detail.append("k kill · f flap · d +100ms · w ws-drop · r restore", style="dim")
        self.update(Group(table, detail))
