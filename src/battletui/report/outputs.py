"""Writes a session's people and machine outputs next to its journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from battletui.report.markdown import render_report
from battletui.report.record import SessionRecord
from battletui.report.result import build_result

RESULT_NAME = "result.json"
REPORT_NAME = "report.md"


def write_outputs(record: SessionRecord, session_dir: Path) -> dict[str, Any]:
    result = build_result(record)
    _write(session_dir / RESULT_NAME, json.dumps(result, indent=2) + "\n")
    _write(session_dir / REPORT_NAME, render_report(result))
    return result


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
