"""``battletui replay`` without ``--ui``: the same ``Session`` as the TUI, with progress as
lines or a live bar.

On a terminal a rich progress bar shows the run; anywhere else (CI, pipes) plain lines, one
status line per second plus each event (see ``battletui.commands.progress``). Either way the
summary follows and the session folder is the last line of stdout. After the session is
written the replay can also write a JUnit XML file (``junit=``) and, inside GitHub Actions,
append the report to the job summary (``GITHUB_STEP_SUMMARY``).

Never imports Textual (a test checks this in a fresh interpreter), so CI needs no terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from battletui import exit_codes
from battletui.commands.inputs import Usage, baseline_from, scenario_from, sessions_root_from
from battletui.commands.progress import ProgressMode, ReplayProgress, choose_mode, make_progress
from battletui.engine import Session, SessionStartError
from battletui.engine.hosting import HostedSession
from battletui.processes import install_uvloop
from battletui.report import REPORT_NAME
from battletui.report.junit import write_junit
from battletui.report.step_summary import append_step_summary, step_summary_path
from battletui.report.summary import print_summary
from battletui.scenario import Scenario, format_of

__all__ = ["replay", "replay_command"]


def replay_command(args: argparse.Namespace) -> int:
    """The scenario with the command line's overrides, replayed to its end."""
    path: Path = args.scenario
    scenario = scenario_from(path, args)
    if scenario.open_ended:
        raise Usage(
            f"{path}: duration: 0 runs until quit; give --duration to replay it headless "
            "(or watch it with --ui)"
        )
    decorate = baseline_from(args.baseline, args.tolerance)
    install_uvloop()  # this process is the engine: its loop times every request
    try:
        return asyncio.run(
            replay(
                scenario,
                sessions_root=sessions_root_from(args.sessions),
                scenario_format=format_of(path),
                junit=args.junit,
                decorate=decorate,
                base_port=args.base_port,
            )
        )
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


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
    interrupt = _Interrupt(session)
    _catch_signals(loop, interrupt)
    try:
        await session.start()
    except SessionStartError as error:
        print(f"battletui: {error}", file=sys.stderr)
        if session.write_error is not None and session.dir is not None:
            print(session.dir, file=out, flush=True)  # the folder it names, to rebuild
        return exit_codes.COULD_NOT_RUN
    interrupt.started()
    hosted = HostedSession(session)  # `battletui attach` / `ctl` can join a replay too
    await hosted.open()
    folder = await _watch(session, printer)
    await hosted.close()
    _release_signals(loop)
    return _conclude(session, folder, out, junit=junit, interrupted=interrupt.seen)


class _Interrupt:
    """A signal while the lab starts is kept until it has (the session is then written at
    once); afterwards it ends the session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._started = False
        self.seen = False

    def __call__(self) -> None:
        self.seen = True
        if self._started:
            self._session.request_finish("interrupted")

    def started(self) -> None:
        """The lab is up: a signal kept during the start ends the session now."""
        self._started = True
        if self.seen:
            self._session.request_finish("interrupted")


def _catch_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler)


def _release_signals(loop: asyncio.AbstractEventLoop) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)


async def _watch(session: Session, printer: ReplayProgress) -> Path:
    """Show progress until the session is written; the folder it was written to."""
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
    return waiter.result()


def _conclude(
    session: Session, folder: Path, out: TextIO, *, junit: Path | None, interrupted: bool
) -> int:
    """The summary, the JUnit file and the job summary of a finished replay; its exit code.
    The session folder is the last line printed, whatever happened."""
    if session.write_error is not None:
        print(f"battletui: {session.write_error}", file=sys.stderr)
        print(folder, file=out, flush=True)
        return exit_codes.COULD_NOT_RUN
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
