"""Headless replay: the same ``Session`` as the TUI, with progress printed as lines.

Never imports Textual (a test checks this in a fresh interpreter), so CI needs no terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TextIO

from battletui.engine import LabError, Session
from battletui.metrics import Event, Snapshot
from battletui.report import build_result
from battletui.scenario import Scenario

EXIT_PASS = 0
EXIT_SLO_FAILED = 1
EXIT_LAB_FAILED = 3
EXIT_INTERRUPTED = 130


class ProgressPrinter:
    """One status line per second and every event as it happens, as plain lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def event(self, event: Event) -> None:
        minutes, seconds = divmod(event.offset, 60)
        self._line(f"  {int(minutes):02d}:{seconds:04.1f}  {event.text}")

    def status(self, snap: Snapshot) -> None:
        ok = "—" if snap.success_rate is None else f"{snap.success_rate * 100:.2f}%"
        p95 = f"{snap.latency_total.p95:.1f}ms" if snap.latency_total.count else "—"
        verdict = {None: "…", True: "pass", False: "FAIL"}[snap.verdict]
        who = " ".join(f"{p.id}:{p.health}/{p.breaker}" for p in snap.providers)
        ws = ""
        if snap.ws is not None:
            w = snap.ws
            ws = (
                f" · ws #{w.head if w.head is not None else '—'} via {w.serving or '—'}"
                f" gaps {w.gaps} dups {w.duplicates}"
            )
        self._line(
            f"[{_clock(snap.elapsed)}/{_clock(snap.duration)}] {snap.rate:6.0f} req/s"
            f" · ok {ok} · p95 {p95}{ws} · SLO {verdict} · {who}"
        )

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


async def replay(
    scenario: Scenario,
    *,
    sessions_root: Path,
    scenario_format: str = "yaml",
    out: TextIO = sys.stdout,
    interval: float = 1.0,
) -> int:
    """Run ``scenario`` to its end with no UI; print progress; return the exit code."""
    printer = ProgressPrinter(out)
    session = Session(
        scenario,
        sessions_root=sessions_root,
        scenario_format=scenario_format,
        on_event=printer.event,
    )
    print(
        f"replaying {scenario.name} · {scenario.duration:g}s · "
        f"{len(scenario.timeline)} timeline actions",
        file=out,
        flush=True,
    )
    try:
        await session.start()
    except LabError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return EXIT_LAB_FAILED
    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        session.request_finish("interrupted")

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, interrupt)
    waiter = asyncio.create_task(session.wait_finished())
    while not waiter.done():
        await asyncio.wait({waiter}, timeout=interval)
        if not waiter.done():
            printer.status(session.snapshot())
    folder = waiter.result()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)
    result = build_result(session.record())
    print_summary(result, out)
    print(folder, file=out, flush=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PASS if result["verdict"] == "pass" else EXIT_SLO_FAILED


def print_summary(result: dict[str, object], out: TextIO) -> None:
    slos = result["slos"]
    assert isinstance(slos, list)
    print(f"verdict: {str(result['verdict']).upper()}", file=out)
    for slo in slos:
        mark = "pass" if slo["passed"] else "FAIL"
        unit = slo["unit"]
        actual = slo["actual"]
        if unit == "ratio":
            shown = "—" if actual is None else f"{actual * 100:.3f}%"
            target = f">= {slo['target'] * 100:.2f}%"
        elif unit == "count":
            shown = "—" if actual is None else f"{actual:.0f}"
            target = f"<= {slo['target']:.0f}"
        else:
            shown = "—" if actual is None else f"{actual:.1f}ms"
            target = f"<= {slo['target']:.1f}ms"
        print(f"  {mark}  {slo['name']:<13} {shown:>10}  (target {target})", file=out)
