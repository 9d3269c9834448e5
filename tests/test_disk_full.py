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
from helpers.cli import battletui

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
def tiny_disk(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``where`` with ``options`` (its size or its number of files)."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
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


SHORT = """\
name: short
seed: 3
duration: 3s
providers:
  - {id: alpha, latency: 5ms}
  - {id: beta, latency: 10ms}
workload: {http: {rate: 20}}
slo: {success_rate: 0.9}
"""


def holders(where: Path) -> list[str]:
    """Processes with a file under ``where`` open: what a session left running."""
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()).startswith(str(where)):
                        found.append(f"pid {fd_dir.parent.name}: {fd.readlink()}")
    return found


def refused_once(done: subprocess.CompletedProcess[str], disk: Path) -> Path:
    """Exit 3, one line naming the folder, nothing left running on the disk; the folder."""
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent == disk, done.stdout
    assert lines[0] == (
        f"battletui: the session could not be written: {folder}: No space left on device; "
        f"what was written is kept (battletui report {folder} rebuilds it)"
    )
    assert holders(disk) == [], "the command returned with processes still writing the disk"
    assert not list(folder.glob(".*partial*")), "no half-written file is left behind"
    assert not (folder / "control.json").exists() and not (folder / "control.token").exists()
    return folder


def rebuilds(folder: Path, tmp_path: Path) -> None:
    """What was written is kept: ``battletui report`` rebuilds the session elsewhere."""
    kept = tmp_path / "kept"
    shutil.copytree(folder, kept)
    rebuilt = battletui("report", str(kept), cwd=tmp_path)
    # the verdict is the session's own (1: its SLO failed; 4: behind on a busy machine)
    assert rebuilt.returncode in (0, 1, 4), rebuilt.stdout + rebuilt.stderr
    assert (kept / "report.md").is_file() and (kept / "result.json").is_file()


@pytest.mark.parametrize("size", ["16k", "24k"])
def test_a_full_disk_ends_the_session_at_once_and_report_rebuilds_it(
    tmp_path: Path, size: str
) -> None:
    """The issue's case: the bundled failover scenario on a disk of a few KiB."""
    with tiny_disk(tmp_path / "disk", f"size={size}") as disk:
        done = battletui("replay", FAILOVER, "--sessions", str(disk), cwd=tmp_path)
        folder = refused_once(done, disk)
        assert "session ended (write failed)" in done.stdout  # at once, not at 00:30
        rebuilds(folder, tmp_path)


# How many files the disk can hold decides which write is refused (tmpfs counts inodes; the
# mount and the session folder take two): 3 refuses lab.log, 4 gateway.log, 5 lab.json, 6
# workers.log, 7 the control files, 9 and 11 the report's files at the end.
@pytest.mark.slow
@pytest.mark.parametrize("inodes", [3, 4, 5, 6, 7, 9, 11])
def test_a_disk_out_of_room_at_any_file_is_one_line_and_exit_3(tmp_path: Path, inodes: int) -> None:
    (tmp_path / "short.yaml").write_text(SHORT)
    with tiny_disk(tmp_path / "disk", f"nr_inodes={inodes}") as disk:
        done = battletui("replay", "short.yaml", "--sessions", str(disk), cwd=tmp_path)
        folder = refused_once(done, disk)
        rebuilds(folder, tmp_path)


def test_a_sessions_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    done = battletui("replay", FAILOVER, "--sessions", str(tmp_path / "a-file" / "s"), cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"battletui: the session could not be written: {tmp_path / 'a-file' / 's'}: Not a directory"
    ]
