"""Headless replay: the same ``Session`` as the TUI, with progress as lines or a live bar.

On a terminal a rich progress bar shows the run; anywhere else (CI, pipes) plain lines, one
status line per second plus each event (see ``battletui.progress``). Either way the summary
follows and the session folder is the last line of stdout. After the session is written the
replay can also write a JUnit XML file (``junit=``) and, inside GitHub Actions, append the
report to the job summary (``GITHUB_STEP_SUMMARY``).

Never imports Textual (a test checks this in a fresh interpreter), so CI needs no terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from battletui import exit_codes
from battletui.engine import LabError, Session
from battletui.engine.hosting import HostedSession
from battletui.progress import ProgressMode, choose_mode, make_progress
from battletui.report import REPORT_NAME
from battletui.report.junit import write_junit
from battletui.report.step_summary import append_step_summary, step_summary_path
from battletui.report.summary import print_summary
from battletui.scenario import Scenario

__all__ = ["replay"]


async def replay(
    scenario: Scenario,
    *,
    sessions_root: Path,
    scenario_format: str = "yaml",
    out: TextIO = sys.stdout,
    interval: float = 1.0,
    junit: Path | None = None,
    progress: ProgressMode = "auto",
    decorate: Callable[[dict[str, Any]], None] | None = None,
    base_port: int | None = None,
) -> int:
    """Run ``scenario`` to its end with no UI; show progress; return the exit code.

    ``progress``: ``"bar"`` a live rich bar, ``"plain"`` status lines every ``interval``
    seconds, ``"auto"`` the bar when ``out`` is a terminal (and ``TERM`` is not ``dumb``).
    ``junit``: also write the result as JUnit XML there once the session is written.
    ``decorate``: adds to the result before it is written (a baseline comparison).
    ``base_port``: providers on ``base_port + 1, + 2, ...`` (the reference gateway on it).
    """
    if junit is not None and (problem := _junit_problem(junit)):
        print(f"battletui: --junit {junit}: {problem}", file=sys.stderr)
        return exit_codes.USAGE
    printer = make_progress(choose_mode(progress, out), out, interval)
    session = Session(
        scenario,
        sessions_root=sessions_root,
        scenario_format=scenario_format,
        on_event=printer.event,
        decorate=decorate,
        base_port=base_port,
    )
    print(
        f"replaying {scenario.name} · {scenario.duration:g}s · "
        f"{len(scenario.timeline)} timeline actions",
        file=out,
        flush=True,
    )
    loop = asyncio.get_running_loop()
    interrupted = False
    started = False

    def interrupt() -> None:
        """A signal while the lab starts is kept until it has (the session is then written
        at once); afterwards it ends the session."""
        nonlocal interrupted
        interrupted = True
        if started:
            session.request_finish("interrupted")

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, interrupt)
    try:
        await session.start()
    except LabError as error:
        print(f"battletui: {error}", file=sys.stderr)
        if session.write_error is not None and session.dir is not None:
            print(session.dir, file=out, flush=True)  # the folder it names, to rebuild
        return exit_codes.LAB_FAILED
    started = True
    if interrupted:
        session.request_finish("interrupted")
    hosted = HostedSession(session)  # `battletui attach` / `ctl` can join a replay too
    await hosted.open()
    waiter = asyncio.create_task(session.wait_finished())
    printer.start()
    try:
        while not waiter.done():
            await asyncio.wait({waiter}, timeout=printer.interval)
            if not waiter.done():
                printer.status(session.snapshot())
        printer.stop(session.snapshot)
    finally:
        printer.stop()  # hand the terminal back, whatever happened (idempotent)
    folder = waiter.result()
    await hosted.close()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)
    if session.write_error is not None:
        print(f"battletui: {session.write_error}", file=sys.stderr)
        print(folder, file=out, flush=True)
        return exit_codes.LAB_FAILED
    result = session.result
    assert result is not None  # a finished session has written it
    print_summary(result, out)
    code = exit_codes.of_result(result)
    if interrupted:
        code = exit_codes.INTERRUPTED
    if junit is not None and not _write_junit(result, junit) and code != exit_codes.INTERRUPTED:
        code = exit_codes.USAGE
    _append_step_summary(folder)
    print(folder, file=out, flush=True)
    return code


def _junit_problem(path: Path) -> str | None:
    """Why the JUnit file could not be written, checked before a long session runs."""
    if path.is_dir():
        return "is a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return error.strerror or str(error)
    if not os.access(path.parent, os.W_OK):
        return f"folder {path.parent} is not writable"
    return None


def _write_junit(result: Mapping[str, Any], path: Path) -> bool:
    try:
        write_junit(result, path)
    except OSError as error:
        print(f"battletui: cannot write JUnit XML to {path}: {error}", file=sys.stderr)
        return False
    return True


def _append_step_summary(folder: Path) -> None:
    """Inside GitHub Actions, add the report to the job summary; never fails the replay."""
    summary = step_summary_path()
    if summary is None:
        return
    try:
        append_step_summary((folder / REPORT_NAME).read_text(encoding="utf-8"), summary)
    except OSError as error:
        print(f"battletui: warning: job summary {summary} not written: {error}", file=sys.stderr)
