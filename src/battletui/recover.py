"""``battletui report SESSION_DIR``: rebuild a session's outputs from its journal.

Works for any session folder, also one whose process was killed mid-run (SIGKILL, a crash,
a power cut): the journal is flushed per entry and carries a complete checkpoint per second.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from battletui.report import RebuildError, rebuild, write_outputs
from battletui.report.baseline import against_baseline

JOURNAL_NAME = "journal.jsonl"


def report_session(
    folder: Path,
    *,
    out: TextIO = sys.stdout,
    baseline: dict[str, object] | None = None,
    baseline_file: str = "",
    tolerance: float = 0.1,
) -> int:
    """Rewrite scenario, result.json, report.md and latency.hlog; return the exit code."""
    journal = folder / JOURNAL_NAME if folder.is_dir() else folder
    try:
        record = rebuild(journal)
    except RebuildError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return 2
    decorate = None
    if baseline is not None:
        decorate = against_baseline(baseline, tolerance=tolerance, baseline_file=baseline_file)
    result = write_outputs(record, journal.parent, decorate=decorate)
    if record.end_reason == "killed":
        print(
            f"the session's process died {record.duration_s:g}s in; rebuilt from its journal",
            file=out,
        )
    print(f"verdict: {str(result['verdict']).upper()} ({record.end_reason})", file=out)
    print(journal.parent, file=out, flush=True)
    return 0 if result["verdict"] == "pass" else 1
