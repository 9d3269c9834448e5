"""Writes a session's people and machine outputs next to its journal."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from battletui.report.hlog import HLOG_NAME, write_hlog
from battletui.report.markdown import render_report
from battletui.report.record import SessionRecord
from battletui.report.result import build_result
from battletui.scenario import Scenario, dump_scenario

RESULT_NAME = "result.json"
REPORT_NAME = "report.md"


def write_outputs(
    record: SessionRecord,
    session_dir: Path,
    *,
    decorate: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Write result.json, report.md, latency.hlog and the replayable scenario.

    ``decorate`` may add to the result before it is written (e.g. a baseline comparison).
    """
    result = build_result(record)
    if decorate is not None:
        decorate(result)
    _write(session_dir / RESULT_NAME, json.dumps(result, indent=2) + "\n")
    _write(session_dir / REPORT_NAME, render_report(result))
    partial_hlog = session_dir / f".{HLOG_NAME}.partial"
    with _whole_or_nothing(partial_hlog):
        write_hlog(record, partial_hlog)
        partial_hlog.replace(session_dir / HLOG_NAME)
    write_scenario(record.recorded, session_dir / record.scenario_file)
    return result


def write_scenario(scenario: Scenario, path: Path) -> None:
    """Write a scenario file whole or not at all (a reader never sees half of it)."""
    partial = path.with_name(f".{path.stem}-partial{path.suffix}")
    with _whole_or_nothing(partial):
        dump_scenario(scenario, partial)
        partial.replace(path)


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with _whole_or_nothing(partial):
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)


@contextlib.contextmanager
def _whole_or_nothing(partial: Path) -> Iterator[None]:
    """A write the disk refused leaves no half-written ``partial`` behind."""
    try:
        yield
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
