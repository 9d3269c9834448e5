"""How a headless replay shows its progress: plain lines, or a live bar on a terminal.

* :class:`ProgressPrinter` (plain): one status line per second and every event as a line.
  CI logs, pipes and tests read these lines; their format is stable.
* :class:`ProgressBar` (bar): a rich progress bar, ``00:12 / 00:30``, with a live status
  (SLO verdict so far, req/s, success, p95, WebSocket head/gaps/dups); events are printed
  above the bar as lines, so none is lost.

:func:`choose_mode` picks: the bar only when stdout is a terminal and ``TERM`` is not
``dumb``. Never imports Textual (rich is fine here; it is not the UI).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from typing import Literal, Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from battletui.metrics import Event, Snapshot
from battletui.scenario import clock, clock_tenths

ProgressMode = Literal["auto", "bar", "plain"]

BAR_INTERVAL = 0.25
"""Seconds between bar updates (the plain printer keeps its one line per second)."""

BAR_WIDTH = (10, 40)
"""Narrowest and widest bar, in cells."""

_EVENT_STYLES: Mapping[str, str] = {"info": "", "ok": "green", "warn": "yellow", "error": "red"}


class ReplayProgress(Protocol):
    """What the replay loop talks to, whichever way progress is shown."""

    interval: float
    """How often the loop hands over a snapshot, in seconds."""

    def start(self) -> None: ...

    def event(self, event: Event) -> None: ...

    def status(self, snap: Snapshot) -> None: ...

    def stop(self, final: Callable[[], Snapshot] | None = None) -> None:
        """Done: ``final``, when given, yields the finished session's last picture."""


def choose_mode(
    mode: ProgressMode, out: TextIO, environ: Mapping[str, str] | None = None
) -> Literal["bar", "plain"]:
    """``auto`` means the bar on an interactive terminal, plain lines anywhere else."""
    if mode != "auto":
        return mode
    env = os.environ if environ is None else environ
    try:
        interactive = out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        interactive = False
    return "bar" if interactive and env.get("TERM", "") != "dumb" else "plain"


def event_line(event: Event) -> str:
    return f"  {clock_tenths(event.offset)}  {event.text}"


class ProgressPrinter:
    """One status line per second and every event as it happens, as plain lines."""

    def __init__(self, out: TextIO, interval: float = 1.0) -> None:
        self._out = out
        self.interval = interval

    def start(self) -> None:
        pass

    def stop(self, final: Callable[[], Snapshot] | None = None) -> None:
        pass  # the plain lines end with the last one-second status, as they always have

    def event(self, event: Event) -> None:
        self._line(event_line(event))

    def status(self, snap: Snapshot) -> None:
        ok = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
        p95 = f"{snap.latency_total.p95:.1f}ms" if snap.latency_total.count else "—"
        verdict = {None: "…", True: "pass", False: "FAIL"}[snap.verdict]
        if snap.instrument.inconclusive:  # the generator fell behind: it measures itself
            verdict = "INCONCLUSIVE (load generator behind)"
        who = " ".join(f"{p.id}:{p.health}/{p.breaker}" for p in snap.providers)
        ws = ""
        if snap.ws is not None:
            w = snap.ws
            via = (w.serving or "—") if w.serving_observed else "n/a"
            ws = (
                f" · ws #{w.head if w.head is not None else '—'} via {via}"
                f" gaps {w.gaps} dups {w.duplicates}"
            )
        self._line(
            f"[{clock(snap.elapsed)}/{clock(snap.duration)}] {snap.rate:6.0f} req/s"
            f" · ok {ok} · p95 {p95}{ws} · SLO {verdict} · {who}"
        )

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)


class _StatusColumn(ProgressColumn):
    """Shows the task's prepared ``status`` Text as it is (no markup parsing of names)."""

    def render(self, task: Task) -> Text:
        status = task.fields.get("status")
        return status if isinstance(status, Text) else Text("")


class ProgressBar:
    """A live progress bar on a terminal; events are printed above it as lines."""

    def __init__(self, console: Console, interval: float = BAR_INTERVAL) -> None:
        self.console = console
        self.interval = interval
        self._bar = BarColumn(bar_width=BAR_WIDTH[1])
        self._progress = Progress(
            TextColumn("{task.fields[clock]}", style="bold"),
            self._bar,
            _StatusColumn(),
            console=console,
            auto_refresh=False,  # refreshed on each status(): deterministic, no thread
            transient=False,  # the last state stays on screen above the summary
        )
        self._task = self._progress.add_task("replay", total=1.0, clock="", status=Text(""))
        self._wanted = False
        self._live = False

    def start(self) -> None:
        """Show the bar from the first status on (events before it are plain lines)."""
        self._wanted = True

    def stop(self, final: Callable[[], Snapshot] | None = None) -> None:
        if final is not None and self._live:
            # Leave the finished session's state on screen; purely cosmetic, so a failure
            # here must never cost the replay its summary and exit code.
            with contextlib.suppress(Exception):
                self.status(final())
        self._wanted = False
        if self._live:
            self._live = False
            self._progress.stop()

    def event(self, event: Event) -> None:
        # Progress.console.print goes above the live bar (or plainly before it starts).
        self._progress.console.print(
            Text(event_line(event), style=_EVENT_STYLES.get(event.level, "")),
            soft_wrap=True,
            highlight=False,
        )

    def status(self, snap: Snapshot) -> None:
        duration = max(snap.duration, 0.001)
        shown_clock = f"{clock(snap.elapsed)} / {clock(snap.duration)}"
        status = status_text(snap)
        # The bar gives way to the figures on a narrow terminal, up to a point.
        room = self.console.width - len(shown_clock) - 2 - status.cell_len
        self._bar.bar_width = max(BAR_WIDTH[0], min(BAR_WIDTH[1], room))
        self._progress.update(
            self._task,
            total=duration,
            completed=min(max(snap.elapsed, 0.0), duration),
            clock=shown_clock,
            status=status,
        )
        if self._wanted and not self._live:
            self._live = True
            self._progress.start()
        if self._live:
            self._progress.refresh()


def status_text(snap: Snapshot) -> Text:
    """The bar's live status: SLO verdict so far, req/s, success, p95, WebSocket stream."""
    text = Text("SLO ", no_wrap=True, overflow="ellipsis")
    if snap.instrument.inconclusive:
        text.append("INCONCLUSIVE", style="bold dark_orange")
        text.append(" load generator behind", style="dark_orange")
    elif snap.verdict is None:
        text.append("…", style="dim")
    elif snap.verdict:
        text.append("PASS", style="bold green")
    else:
        failing = [s.name for s in snap.slos if s.passed is False]
        text.append("FAIL", style="bold red")
        text.append(" " + ",".join(failing), style="red")
    text.append(f" · {snap.rate:.0f} req/s")
    ok = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
    text.append(f" · ok {ok}")
    p95 = f"{snap.latency_total.p95:.1f} ms" if snap.latency_total.count else "—"
    text.append(f" · p95 {p95}")
    if snap.ws is not None:
        w = snap.ws
        text.append(f" · ws #{w.head if w.head is not None else '—'}")
        text.append(" gaps ")
        text.append(str(w.gaps), style="red" if w.gaps else "")
        text.append(" dups ")
        text.append(str(w.duplicates), style="red" if w.duplicates else "")
    return text


def make_progress(mode: Literal["bar", "plain"], out: TextIO, interval: float) -> ReplayProgress:
    """The progress display for a chosen mode, writing to ``out``."""
    if mode == "bar":
        # Forced "bar" draws even when ``out`` is not a terminal (the caller asked for it).
        return ProgressBar(Console(file=out, force_terminal=True), min(interval, BAR_INTERVAL))
    return ProgressPrinter(out, interval)
