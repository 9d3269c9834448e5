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

    _drawn: object = None

    def on_mount(self) -> None:
        self.border_title = "latency · last 5 s · HdrHistogram"

    def show(self, snap: Snapshot) -> None:
        """Bars as tall as the panel allows (its border, the axis and the figures aside).

        Drawn only when what it shows changed: the snapshot comes 8 times a second, the
        window's histogram and the panel's size far less often."""
        width = self.size.width or 76
        rows = max(2, (self.size.height or 7) - 2)
        key = (snap.bars, snap.latency_window, width, rows)
        if key == self._drawn:
            return
        self._drawn = key
        counts = list(snap.bars.counts)
        column = max(2, min(8, width // max(1, len(counts))))
        lines = [Text(row, style="cyan", no_wrap=True) for row in bar_rows(counts, rows, column)]
        axis = Text(_axis(_labels(snap.bars.edges_ms), column), style="dim", no_wrap=True)
        axis.append(" ms", style="dim")
        self.update(Group(*lines, axis, _stats(snap, width)))


def bar_rows(counts: list[int], rows: int, column: int) -> list[str]:
    """The histogram as ``rows`` lines of block characters, top line first; each bar is
    ``column - 1`` cells wide with one cell of space after it."""
    top = max(counts) if counts else 0
    if not top:
        return [" " * (column * len(counts))] * rows
    fills = [count / top * rows for count in counts]
    lines = []
    for level in range(rows - 1, -1, -1):
        cells = []
        for count, fill in zip(counts, fills, strict=True):
            part = min(max(fill - level, 0.0), 1.0)
            block = BLOCKS[round(part * 8)] if count else " "
            cells.append(block * (column - 1) + " ")
        lines.append("".join(cells))
    return lines


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
