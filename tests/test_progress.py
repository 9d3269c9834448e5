"""Replay progress: a live bar on a terminal, the stable plain lines everywhere else."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from rich.console import Console

from battletui.commands.progress import (
    ProgressBar,
    ProgressPrinter,
    choose_mode,
    make_progress,
    status_text,
)
from battletui.metrics import Event, InstrumentView, LatencyStats, Snapshot, WsView
from battletui.metrics.snapshot import ProviderView, SloStatus

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def snapshot(elapsed: float, *, passed: bool | None, ws: bool = False) -> Snapshot:
    return Snapshot(
        scenario="demo",
        phase="running",
        elapsed=elapsed,
        duration=30.0,
        target_rate=100.0,
        strategy="fastest",
        providers=(
            ProviderView(
                key=1,
                id="alpha",
                url="http://127.0.0.1:1",
                health="UP",
                breaker="CLOSED",
                share=1.0,
                served=10,
                probe_ms=1.0,
                added_latency_ms=0.0,
            ),
        ),
        requests=1200,
        success_rate=0.9975,
        rate=98.6,
        latency_total=LatencyStats(count=1200, p50=40.0, p95=84.25, p99=120.0, max=300.0),
        slos=(
            SloStatus("success_rate", ">= 99.00%", "99.75%", True),
            SloStatus("p95", "<= 50.0 ms", "84.2 ms", passed),
        ),
        ws=WsView(
            subscribers=4,
            connected=4,
            head=1041,
            heads=400,
            gaps=2,
            missing_blocks=3,
            duplicates=0,
            reorgs=0,
            broken_links=0,
            max_stall_ms=0.0,
            current_stall_ms=0.0,
            reconnects=0,
            serving="alpha",
        )
        if ws
        else None,
    )


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100, color_system="truecolor"), buffer


def test_bar_shows_clock_verdict_figures_and_events_above() -> None:
    console, buffer = terminal()
    bar = ProgressBar(console)
    bar.start()
    bar.status(snapshot(12.3, passed=True))
    bar.event(Event(offset=12.5, text="kill alpha · port refuses connections", level="warn"))
    bar.status(snapshot(13.0, passed=False, ws=True))
    bar.stop()
    raw = buffer.getvalue()
    text = ANSI.sub("", raw)
    assert "00:12 / 00:30" in text and "00:13 / 00:30" in text
    assert "PASS" in text and "FAIL p95" in text
    assert "99 req/s" in text and "ok 99.75%" in text and "p95 84.2 ms" in text
    assert "ws #1041 gaps 2 dups 0" in text
    assert "━" in text  # the bar itself
    # The event line is printed in full, above the bar that was drawn after it.
    event_at = text.index("  00:12.5  kill alpha · port refuses connections")
    assert text.index("00:13 / 00:30") > event_at
    assert "\x1b[" in raw  # colours: a terminal, not plain lines
    # The final bar stays on screen (not transient), the last state on its last line.
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert "00:13 / 00:30" in last and "FAIL p95" in last


def test_bar_before_any_verdict_is_dim_ellipsis() -> None:
    console, buffer = terminal()
    bar = ProgressBar(console)
    bar.start()
    bar.status(replace(snapshot(0.5, passed=None), slos=()))
    bar.stop()
    assert "SLO …" in ANSI.sub("", buffer.getvalue())


def test_plain_lines_are_unchanged() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    printer.event(Event(offset=1.25, text="kill alpha"))
    printer.status(snapshot(1.0, passed=False, ws=True))
    assert out.getvalue().splitlines() == [
        "  00:01.2  kill alpha",
        "[00:01/00:30]     99 req/s · ok 99.75% · p95 84.2ms · ws #1041 via alpha gaps 2 dups 0"
        " · SLO FAIL · alpha:UP/CLOSED",
    ]


def test_inconclusive_when_the_load_generator_is_behind() -> None:
    snap = replace(
        snapshot(5.0, passed=False), instrument=InstrumentView(behind=True, behind_since=3.0)
    )
    assert status_text(snap).plain.startswith("SLO INCONCLUSIVE load generator behind · ")
    out = io.StringIO()
    ProgressPrinter(out).status(snap)
    assert " · SLO INCONCLUSIVE (load generator behind) · " in out.getvalue()


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_mode_is_the_bar_only_on_a_real_terminal() -> None:
    assert choose_mode("auto", _Stream(True), {"TERM": "xterm-256color"}) == "bar"
    assert choose_mode("auto", _Stream(True), {"TERM": "dumb"}) == "plain"
    assert choose_mode("auto", _Stream(False), {"TERM": "xterm"}) == "plain"
    assert choose_mode("plain", _Stream(True), {}) == "plain"
    assert choose_mode("bar", _Stream(False), {}) == "bar"
    assert isinstance(make_progress("plain", _Stream(False), 1.0), ProgressPrinter)
    bar = make_progress("bar", _Stream(False), 1.0)
    assert isinstance(bar, ProgressBar) and bar.interval < 1.0
