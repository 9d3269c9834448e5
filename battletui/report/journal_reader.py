"""Reading a session journal (JSON lines), tolerant of a torn last line after a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Entries in order; a torn last line (the process died mid-write) is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry
