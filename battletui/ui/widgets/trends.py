"""Rate, success and p95 over the last minute, as sparklines."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.ui.format import ms, sparkline


class TrendsPanel(Static):
    DEFAULT_CSS = """
    TrendsPanel { border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "over time · one mark per second"

    def show(self, snap: Snapshot) -> None:
        label_width, value_width = 6, 11
        width = max(5, (self.size.width or 60) - 2 - label_width - value_width - 2)
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, min_width=label_width)
        table.add_column(no_wrap=True, min_width=width, max_width=width)
        table.add_column(no_wrap=True, justify="right", min_width=value_width)
        success = (
            "—" if snap.window_success_rate is None else (f"{snap.window_success_rate * 100:.2f}%")
        )
        table.add_row(
            Text("req/s ", style="dim"),
            Text(sparkline(snap.rate_series, width), style="green"),
            Text(f"{snap.rate:.0f}/s", style="bold"),
        )
        table.add_row(
            Text("errors", style="dim"),
            Text(sparkline(snap.error_series, width), style="red"),
            Text(f"{success} ok", style="bold"),
        )
        table.add_row(
            Text("p95   ", style="dim"),
            Text(sparkline(snap.p95_series, width), style="yellow"),
            Text(
                f"{ms(snap.latency_window.p95)} ms" if snap.latency_window.count else "—",
                style="bold",
            ),
        )
        footer = Text()
        footer.append(f"{snap.requests:,} req", style="bold")
        footer.append(f" · {sum(snap.errors.values()):,} err", style="dim")
        footer.append(f" · {snap.failovers:,} failovers", style="dim")
        table.add_row("", footer, "")
        table.columns[1].overflow = "ellipsis"
        self.update(table)
