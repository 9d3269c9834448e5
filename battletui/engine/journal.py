"""The session journal: append-only JSON lines, flushed and synced per entry.

Whatever happens to the process (Ctrl-C, a crash, SIGKILL), what was written stays written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from battletui.report.journal_reader import read_journal

__all__ = ["JOURNAL_NAME", "Journal", "read_journal"]

JOURNAL_NAME = "journal.jsonl"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = path.open("a", encoding="utf-8")

    def write(self, entry: Mapping[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(entry, separators=(",", ":"), sort_keys=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
