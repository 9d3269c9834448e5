"""The top line: what is running, for how long, and the verdict — readable across a room.

When the load generator falls behind, the line says so in plain words and the verdict reads
INCONCLUSIVE: the latency on screen is then the generator's own delay, not the gateway's.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import InstrumentView, Snapshot
from battletui.ui.format import clock, ms

WARNING_STYLE = "bold black on dark_orange"


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    """

    def show(self, snap: Snapshot) -> None:
        text = Text()
        text.append(" battletui ", style="bold reverse")
        text.append(f" {snap.scenario} ", style="bold")
        if snap.load:
            length = "until q" if snap.duration == 0 else clock(snap.duration)
            text.append(f"· {clock(snap.elapsed)} / {length} ")
            rate = "max req/s" if snap.closed_loop else f"{snap.target_rate:g} req/s"
            detail = f"· {rate} · {snap.strategy} "
        else:
            text.append(f"· lab · {clock(snap.elapsed)} ")
            detail = f"· load from outside: {snap.gateway_url or 'the gateway'} "
        note = Text()
        if snap.phase == "starting":
            note.append(" starting the lab… ", style="bold black on yellow")
        elif snap.phase == "ending":
            note.append(" writing the session… ", style="bold black on yellow")
        elif snap.phase == "ended":
            note.append(" ENDED · press q ", style="bold black on yellow")
        elif snap.paused:
            note.append(" ⏸ PAUSED · space resumes ", style="bold black on yellow")
        verdict = snap.verdict
        success = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
        p95 = ms(snap.latency_total.p95) if snap.latency_total.count else "—"
        if snap.instrument.inconclusive:
            badge, style = " SLO ⚠ INCONCLUSIVE ", WARNING_STYLE
        elif verdict is None:
            badge, style = " SLO … ", "bold black on grey70"
        elif verdict:
            badge, style = " SLO ✔ PASS ", "bold black on green"
        else:
            badge, style = " SLO ✘ FAIL ", "bold white on red"
        tail = Text()
        if snap.load:
            tail.append(f" {success} ok · p95 {p95} ms ", style="bold")
            tail.append(badge, style=style)
        else:
            tail.append(" no load of ours · no SLOs ", style="dim")
        width = self.size.width or 120
        room = width - text.cell_len - note.cell_len - tail.cell_len - 3
        warning = behind_words(snap.instrument, room - cell_len(detail))
        if warning is not None and warning != behind_words(snap.instrument, width):
            warning = behind_words(snap.instrument, room)  # rate and strategy give way to it
            detail = ""
        if cell_len(detail) > room and not snap.load:
            detail = "· load from outside " if room >= 20 else ""  # the URL gives way
        text.append(detail)
        text.append_text(note)
        if warning:
            text.append(f" {warning} ", style=WARNING_STYLE)
        gap = max(1, width - text.cell_len - tail.cell_len)
        text.append(" " * gap)
        text.append_text(tail)
        self.update(text, layout=False)


def behind_words(instrument: InstrumentView, room: int) -> str | None:
    """The longest plain-words warning that fits in ``room`` cells (None when all is well)."""
    if instrument.behind:
        when = "" if instrument.behind_since is None else f" since {clock(instrument.behind_since)}"
        state = "behind"
    elif instrument.saturated:
        when = "" if instrument.behind_from is None else f" from {clock(instrument.behind_from)}"
        state = "fell behind"
    else:
        return None
    for words in (
        f"⚠ load generator {state}{when} — latency not a measurement of the gateway",
        f"⚠ generator {state}{when} — not measuring the gateway",
        f"⚠ generator {state}{when}",
        "⚠ generator behind",
    ):
        if cell_len(words) <= room:
            return words
    return "⚠"
