"""The top line: what is running, for how long, and the verdict — readable across a room."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from battletui.metrics import Snapshot
from battletui.ui.format import clock, ms


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    """

    def show(self, snap: Snapshot) -> None:
        text = Text()
        text.append(" battletui ", style="bold reverse")
        text.append(f" {snap.scenario} ", style="bold")
        text.append(f"· {clock(snap.elapsed)} / {clock(snap.duration)} ")
        text.append(f"· {snap.target_rate:g} req/s · {snap.strategy} ")
        if snap.phase == "starting":
            text.append(" starting the lab… ", style="bold black on yellow")
        elif snap.phase == "ending":
            text.append(" writing the session… ", style="bold black on yellow")
        elif snap.phase == "ended":
            text.append(" ENDED · press q ", style="bold black on yellow")
        verdict = snap.verdict
        success = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
        p95 = ms(snap.latency_total.p95) if snap.latency_total.count else "—"
        if verdict is None:
            badge, style = " SLO … ", "bold black on grey70"
        elif verdict:
            badge, style = " SLO ✔ PASS ", "bold black on green"
        else:
            badge, style = " SLO ✘ FAIL ", "bold white on red"
        tail = Text()
        tail.append(f" {success} ok · p95 {p95} ms ", style="bold")
        tail.append(badge, style=style)
        width = self.size.width or 120
        gap = max(1, width - text.cell_len - tail.cell_len)
        text.append(" " * gap)
        text.append_text(tail)
        self.update(text, layout=False)
