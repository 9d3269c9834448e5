"""``battletui report SESSION_DIR``: rebuild a session's outputs from its journal.

Works for any session folder, also one whose process was killed mid-run (SIGKILL, a crash,
a power cut): the journal is flushed per entry and carries a complete checkpoint per second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from battletui import exit_codes
from battletui.commands.inputs import baseline_from
from battletui.control.files import remove_stale_control_files
from battletui.engine.journal import JOURNAL_NAME
from battletui.report import RebuildError, rebuild, write_outputs
from battletui.report.summary import print_summary


def report_command(args: argparse.Namespace) -> int:
    """Rebuild, compared with ``--baseline`` when given; exits with the session's verdict."""
    decorate = baseline_from(args.baseline, args.tolerance)
    return report_session(args.session, decorate=decorate)


def report_session(
    folder: Path,
    *,
    out: TextIO = sys.stdout,
    decorate: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Rewrite scenario, result.json, report.md and latency.hlog; return the exit code.

    ``decorate`` adds to the result before it is written (a baseline comparison)."""
    journal = folder / JOURNAL_NAME if folder.is_dir() else folder
    try:
        record = rebuild(journal)
    except RebuildError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    except OSError as error:
        print(f"battletui: {journal}: cannot read: {error.strerror or error}", file=sys.stderr)
        return exit_codes.USAGE
    if record.damage:
        first = record.damage[0]
        more = len(record.damage) - 1
        print(
            f"battletui: {journal}:{first.line}: {first.why}; skipped"
            + (f" with {more} more damaged line{'s' if more != 1 else ''}" if more else "")
            + ", rebuilt from the rest",
            file=sys.stderr,
        )
    remove_stale_control_files(journal.parent)  # a killed engine could not remove them
    try:
        result = write_outputs(record, journal.parent, decorate=decorate)
    except OSError as error:
        print(
            f"battletui: {journal.parent}: the outputs could not be written: "
            f"{error.strerror or error}; the journal is untouched",
            file=sys.stderr,
        )
        return exit_codes.COULD_NOT_RUN
    if record.end_reason == "killed":
        print(
            f"the session's process died {record.duration_s:g}s in; rebuilt from its journal",
            file=out,
        )
    print_summary(result, out)
    print(journal.parent, file=out, flush=True)
    return exit_codes.of_result(result)
