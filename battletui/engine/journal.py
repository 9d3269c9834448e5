"""The session journal: append-only JSON lines, flushed and synced per entry.

Whatever happens to the process (Ctrl-C, a crash, SIGKILL), what was written stays written.
When the disk refuses a write (full, read-only, gone), the journal stops there, keeps what it
has and says so once (``on_failure``): the session then ends at once instead of measuring
what it can no longer record.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from battletui.report.journal_reader import read_journal

__all__ = ["JOURNAL_NAME", "REFUSED_WRITES", "Journal", "read_journal"]

JOURNAL_NAME = "journal.jsonl"
REFUSED_WRITES = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)
"""What a disk says when it will not take a session's file: full, over quota, read-only,
not ours, failing. Any of them ends the session the same way (one line, exit 3)."""


class Journal:
    def __init__(self, path: Path, on_failure: Callable[[OSError], None] | None = None) -> None:
        self.path = path
        self._file: TextIO | None = path.open("a", encoding="utf-8")
        self._on_failure = on_failure
        self.error: OSError | None = None
        """The write the disk refused; nothing is written after it."""

    def write(self, entry: Mapping[str, Any]) -> None:
        if self._file is None:
            return
        line = json.dumps(entry, separators=(",", ":"), sort_keys=False) + "\n"
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            self.failed(error)

    def failed(self, error: OSError) -> None:
        """Stop writing (what is on disk stays) and tell the owner, once."""
        if self.error is not None:
            return
        self.error = error
        self.close()
        if self._on_failure is not None:
            self._on_failure(error)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):  # a buffered line the disk refuses is lost
                file.close()
