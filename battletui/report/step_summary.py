"""The GitHub Actions job summary: a replay in a workflow adds its report to the run's page.

GitHub sets ``GITHUB_STEP_SUMMARY`` to a file per step; Markdown appended to it is shown on
the workflow run's summary page. Several replays in one step append one report each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "GITHUB_STEP_SUMMARY"


def step_summary_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The summary file GitHub asked for, or None outside GitHub Actions."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return Path(value) if value else None


def append_step_summary(markdown: str, path: Path) -> None:
    """Append ``markdown`` to ``path`` (created if missing) as a block of its own.

    Raises ``OSError`` when the file cannot be written; the caller decides how loud to be.
    """
    with path.open("a+", encoding="utf-8") as summary:
        summary.seek(0, os.SEEK_END)
        if summary.tell() > 0:
            summary.write("\n")  # a blank line keeps two reports from running together
        summary.write(markdown if markdown.endswith("\n") else markdown + "\n")
