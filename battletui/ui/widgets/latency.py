"""The live latency histogram (HdrHistogram, last 5 s) with its percentiles."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.ui.format import ms

BLOCKS = " ▁▂▃▄▅▆▇█"


def _edge_label(edge_ms: float) -> str:
    return f"{edge_ms / 1000:g}s" if edge_ms >= 1000 else f"{edge_ms:g}"


def _labels(edges_ms: tuple[float, ...]) -> list[str]:
    """Bar labels: the upper edge in ms (``1s`` from a second up), ``>5s`` for the rest."""
    if not edges_ms:
        return []
    return [_edge_label(e) for e in edges_ms] + [f">{_edge_label(edges_ms[-1])}"]


def _axis(labels: list[str], column: int) -> str:
    """Labels under their bars, skipping any that would run into the one before."""
    line: list[str] = []
    for index, label in enumerate(labels):
        start = index * column
        if len(line) > start - (1 if index else 0):
            continue
        line.extend(" " * (start - len(line)))
        line.extend(label)
    return "".join(line)


class LatencyPanel(Static):
    DEFAULT_CSS = """
    LatencyPanel { border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "latency · last 5 s · HdrHistogram"

    def show(self, snap: Snapshot) -> None:
        """Bars as tall as the panel allows (its border, the axis and the figures aside)."""
        bars = snap.bars
        counts = list(bars.counts)
        labels = _labels(bars.edges_ms)
        width = self.size.width or 76
        rows = max(2, (self.size.height or 7) - 2)
        column = max(2, min(8, width // max(1, len(counts))))
        top = max(counts) if counts else 0
        lines: list[Text] = []
        for level in range(rows, 0, -1):
            line = Text()
            for count in counts:
                fill = count / top * rows if top else 0
                part = min(max(fill - (level - 1), 0.0), 1.0)
                block = BLOCKS[round(part * 8)] if count else " "
                line.append((block * (column - 1)).ljust(column), style="cyan")
            lines.append(line)
        axis = Text(_axis(labels, column), style="dim")
        axis.append(" ms", style="dim")
        stats = _stats(snap, width)
        self.update(Group(*lines, axis, stats))


def _stats(snap: Snapshot, width: int) -> Text:
    """p50 / p95 / p99 / max of the window, as roomy as the panel allows."""
    lat = snap.latency_window
    if not lat.count:
        return Text("no answers in the last 5 s", style="dim")
    for gap in ("  ", " "):
        stats = Text(no_wrap=True, overflow="ellipsis")
        for name, value in (("p50", lat.p50), ("p95", lat.p95), ("p99", lat.p99), ("max", lat.max)):
            stats.append(f"{name} ", style="dim")
            stats.append(f"{ms(value)}", style="bold")
            stats.append(gap)
        stats.append("ms", style="dim")
        if stats.cell_len <= width:
            break
    requests = f"   ({lat.count:,} requests)"
    if stats.cell_len + len(requests) <= width:
        stats.append(requests, style="dim")
    return stats
