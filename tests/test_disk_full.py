"""A disk that refuses a write (full, read-only, not there): the session ends at once with one
clear line and exit code 3, everything written so far is kept, and ``battletui report``
rebuilds it elsewhere."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from test_cli import battletui

from battletui.engine.journal import Journal

FAILOVER = str(REPO / "scenarios" / "failover.yaml")


def test_a_refused_write_stops_the_journal_and_says_so_once(tmp_path: Path) -> None:
    """/dev/full refuses every write with ENOSPC, as a full disk does."""
    failures: list[OSError] = []
    journal = Journal(Path("/dev/full"), on_failure=failures.append)
    journal.write({"type": "start"})
    journal.write({"type": "interval"})  # after the failure: nothing, and no second report
    assert len(failures) == 1 and failures[0].strerror == "No space left on device"
    assert journal.error is failures[0]


@contextlib.contextmanager
def tiny_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (skips where mounting is not allowed)."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_ends_the_session_at_once_and_report_rebuilds_it(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "24k") as disk:
        done = battletui("replay", FAILOVER, "--sessions", str(disk), cwd=tmp_path)
        assert done.returncode == 3, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        folder = Path(done.stdout.strip().splitlines()[-1])
        assert lines[0] == (
            f"battletui: the session could not be written: {folder}: No space left on device; "
            f"what was written is kept (battletui report {folder} rebuilds it)"
        )
        assert "session ended (write failed)" in done.stdout  # at once, not at 00:30
        assert not list(folder.glob(".*partial*")), "no half-written file is left behind"
        kept = tmp_path / "kept"
        shutil.copytree(folder, kept)
    rebuilt = battletui("report", str(kept), cwd=tmp_path)
    # the verdict is the session's (4: the generator was behind on a busy machine)
    assert rebuilt.returncode in (0, 1, 4), rebuilt.stderr
    assert (kept / "report.md").is_file() and (kept / "result.json").is_file()


def test_a_sessions_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    done = battletui("replay", FAILOVER, "--sessions", str(tmp_path / "a-file" / "s"), cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"battletui: the session could not be written: {tmp_path / 'a-file' / 's'}: Not a directory"
    ]
