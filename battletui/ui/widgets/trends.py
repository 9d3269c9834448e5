"""Rate, success and p95 over the last minute, as sparklines."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.metrics.sparkline import sparkline
from battletui.ui.format import ms


class TrendsPanel(Static):
    DEFAULT_CSS = """
    TrendsPanel { border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "over time · one mark per second"

    def show(self, snap: Snapshot) -> None:
        label_width, value_width = 7, 11
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
            Text(sparkline(snap.rate_series[-width:]), style="green"),
            Text(f"{snap.rate:.0f}/s", style="bold"),
        )
        table.add_row(
            Text("errors", style="dim"),
            Text(sparkline(snap.error_series[-width:]), style="red"),
            Text(f"{success} ok", style="bold"),
        )
        table.add_row(
            Text("p95   ", style="dim"),
            Text(sparkline(snap.p95_series[-width:]), style="yellow"),
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
        if snap.answers.checked:
            table.add_row(Text("answers", style="dim"), *_answers(snap))
        table.columns[1].overflow = "ellipsis"
        self.update(table)


def _answers(snap: Snapshot) -> tuple[Text, Text]:
    """Answers checked against the canonical chain: stale and wrong ones, who served the most
    of them (the upstream to look at), and how many were checked."""
    answers = snap.answers
    verdicts = Text()
    verdicts.append(f"{answers.stale:,} stale", style="bold yellow" if answers.stale else "dim")
    verdicts.append(" · ", style="dim")
    verdicts.append(f"{answers.wrong:,} wrong", style="bold red" if answers.wrong else "dim")
    worst = max(
        answers.by_upstream.items(),
        key=lambda item: (item[1].get("wrong", 0), item[1].get("stale", 0)),
        default=None,
    )
    if worst is not None and (worst[1].get("wrong", 0) or worst[1].get("stale", 0)):
        verdicts.append(f" · most via {worst[0]}", style="yellow")
    return verdicts, Text(f"of {answers.checked:,}", style="bold")
