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


LEVELS = 6
"""How many parts of the top line can give way (see ``StatusBar``)."""
TREND_CELLS = 10
"""Seconds of the verdict of now drawn beside it (newest right)."""
TREND_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "none": "grey50",
    "inconclusive": "dark_orange",
}


def badge(label: str, verdict: bool | None, inconclusive: bool, *, short: bool) -> Text:
    """`` NOW ✔ PASS `` and the like; ``short`` drops the word after the sign."""
    if inconclusive:
        sign, word, style = "⚠", "INCONCLUSIVE", WARNING_STYLE
    elif verdict is None:
        sign, word, style = "…", "", "bold black on grey70"
    elif verdict:
        sign, word, style = "✔", "PASS", "bold black on green"
    else:
        sign, word, style = "✘", "FAIL", "bold white on red"
    text = f" {label} {sign}" + (f" {word}" if word and not short else "") + " "
    return Text(text, style=style)


def trend_text(marks: tuple[str, ...], cells: int) -> Text:
    text = Text()
    shown = marks[-cells:]
    text.append("·" * (cells - len(shown)), style="grey35")
    for mark in shown:
        text.append("▮", style=TREND_STYLE.get(mark, "grey50"))
    return text


class StatusBar(Static):
    """Left: what runs and for how long; right: the verdict of the last seconds (with its
    trend) beside the whole session's. What gives way on a narrow terminal, in order: the
    rate and strategy, the trend, the figures, the brand, then the badges' words."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    """

    view_only = False
    """Watching a replay: the line says so."""
    reconnecting = False
    """The viewer lost the session's stream and is reconnecting (the engine lives)."""

    def show(self, snap: Snapshot) -> None:
        width = self.size.width or 120
        if behind_words(snap.instrument, width) is None:  # all is well: the widest that fits
            for level in range(LEVELS):
                line, _ = self._line(snap, width, level)
                if line.cell_len <= width:
                    break
            self.update(line, layout=False)
            return
        lines = [self._line(snap, width, level) for level in range(LEVELS)]
        fitting = [(line, words) for line, words in lines if line.cell_len <= width]
        if not fitting:
            fitting = [lines[-1]]
        # the generator's warning in more of its words is worth the rate, the trend and the
        # figures (they do not measure the gateway meanwhile): the fitting line that says
        # most of it, among those that keep the brand
        branded = fitting[:4] or fitting
        most = max(words for _, words in branded)
        chosen = next(line for line, words in branded if words == most)
        self.update(chosen, layout=False)

    def _line(self, snap: Snapshot, width: int, level: int) -> tuple[Text, int]:
        """The top line with the ``level`` least important parts left out, and how many
        cells the generator's warning (if any) got."""
        text, detail = _head(snap, level)
        note = self._note(snap, level)
        tail = _tail(snap, level)
        if level >= 1 or not snap.load:
            room = width - text.cell_len - note.cell_len - tail.cell_len - 3
            if cell_len(detail) > room:
                detail = "· load from outside " if not snap.load and room >= 20 else ""
            if snap.load and level >= 1:
                detail = ""
        room = width - text.cell_len - cell_len(detail) - note.cell_len - tail.cell_len - 3
        warning = behind_words(snap.instrument, room)
        if warning is not None and warning != behind_words(snap.instrument, width):
            # rate and strategy give way to the warning
            warning = behind_words(snap.instrument, room + cell_len(detail))
            detail = ""
        text.append(detail)
        text.append_text(note)
        if warning:
            text.append(f" {warning} ", style=WARNING_STYLE)
        gap = max(1, width - text.cell_len - tail.cell_len)
        text.append(" " * gap)
        text.append_text(tail)
        return text, cell_len(warning or "")

    def _note(self, snap: Snapshot, level: int) -> Text:
        """What the session is doing when it is not simply running, and a replay's mark."""
        note = Text()
        if self.reconnecting:
            note.append(" reconnecting… ", style="bold black on yellow")
        elif snap.phase == "starting":
            note.append(" starting the lab… ", style="bold black on yellow")
        elif snap.phase == "ending":
            note.append(" writing the session… ", style="bold black on yellow")
        elif snap.phase == "ended":
            note.append(" ENDED · press q ", style="bold black on yellow")
        elif snap.paused:
            note.append(" ⏸ PAUSED · space resumes ", style="bold black on yellow")
        if self.view_only and level < 4:
            note.append(" replay · view only ", style="bold black on cyan")
        return note


def _head(snap: Snapshot, level: int) -> tuple[Text, str]:
    """The brand, the scenario and its clock; and the rate and strategy (or where a lab's
    load comes from), which give way first."""
    text = Text()
    if level < 4:
        text.append(" battletui ", style="bold reverse")
    text.append(f" {snap.scenario} ", style="bold")
    if snap.load:
        length = "until q" if snap.duration == 0 else clock(snap.duration)
        text.append(f"· {clock(snap.elapsed)} / {length} ")
        rate = "max req/s" if snap.closed_loop else f"{snap.target_rate:g} req/s"
        return text, f"· {rate} · {snap.strategy} "
    text.append(f"· lab · {clock(snap.elapsed)} ")
    return text, f"· load from outside: {snap.gateway_url or 'the gateway'} "


def _tail(snap: Snapshot, level: int) -> Text:
    """Right-aligned: the figures, then the verdict of now (with its trend) and the
    session's."""
    tail = Text()
    if not snap.load:
        tail.append(" no load of ours · no SLOs ", style="dim")
        return tail
    if level < 3:
        success = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
        p95 = ms(snap.latency_total.p95) if snap.latency_total.count else "—"
        tail.append(f" {success} ok · p95 {p95} ms ", style="bold")
    short = level >= 5
    now_inconclusive = snap.instrument.behind
    # behind now: the warning beside says why, so the badge keeps to its sign
    now_badge = badge("NOW", snap.now_verdict, now_inconclusive, short=short)
    if now_inconclusive:
        now_badge = badge("NOW", None, True, short=True)
    tail.append_text(now_badge)
    if level < 2:
        tail.append(" ")
        tail.append_text(trend_text(snap.now_trend, TREND_CELLS))
    tail.append(" ")
    inconclusive = snap.instrument.inconclusive
    tail.append_text(badge("SESSION", snap.verdict, inconclusive, short=short))
    return tail


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
