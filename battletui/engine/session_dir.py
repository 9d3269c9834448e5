"""Where a session's files go: ``sessions/<UTC stamp>-<name>/``."""

from __future__ import annotations

import re
import time
from pathlib import Path


def make_session_dir(root: Path, name: str, wall_time: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_time or time.time()))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "session"
    root.mkdir(parents=True, exist_ok=True)
    candidate = root / f"{stamp}-{slug}"
    suffix = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{slug}-{suffix}"
        suffix += 1
    candidate.mkdir()
    return candidate
