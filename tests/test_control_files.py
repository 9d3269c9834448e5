"""The control files in a session folder: owner-only token, discovery of running sessions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from battletui.control.files import (
    CONTROL_NAME,
    TOKEN_NAME,
    NoSession,
    new_token,
    newest_running,
    read_control,
    remove_control_files,
    running_sessions,
    write_control_files,
)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would let anyone read a file created with default permissions."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_token_is_created_owner_only(tmp_path: Path, open_umask: None) -> None:
    token = new_token()
    write_control_files(tmp_path, "http://127.0.0.1:4000", 123, token)
    mode = stat.S_IMODE((tmp_path / TOKEN_NAME).stat().st_mode)
    assert mode == 0o600
    assert (tmp_path / TOKEN_NAME).read_text() == token
    assert json.loads((tmp_path / CONTROL_NAME).read_text()) == {
        "url": "http://127.0.0.1:4000",
        "pid": 123,
    }


def test_an_old_readable_token_file_is_replaced_not_reused(
    tmp_path: Path, open_umask: None
) -> None:
    old = tmp_path / TOKEN_NAME
    old.write_text("old")
    old.chmod(0o644)
    write_control_files(tmp_path, "http://127.0.0.1:4000", 123, "new")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert old.read_text() == "new"


def test_tokens_are_long_and_random() -> None:
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 40 for token in tokens)


def test_read_control_and_remove(tmp_path: Path) -> None:
    write_control_files(tmp_path, "http://127.0.0.1:4000", 123, "secret")
    assert read_control(tmp_path) == ("http://127.0.0.1:4000", "secret")
    remove_control_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    remove_control_files(tmp_path)  # idempotent
    with pytest.raises(NoSession, match=f"no running session in {tmp_path}"):
        read_control(tmp_path)


def test_unreadable_control_files_are_no_session(tmp_path: Path) -> None:
    (tmp_path / CONTROL_NAME).write_text("{not json")
    (tmp_path / TOKEN_NAME).write_text("t")
    with pytest.raises(NoSession, match="cannot read the control files"):
        read_control(tmp_path)
    (tmp_path / CONTROL_NAME).write_text('{"pid": 1}')
    with pytest.raises(NoSession, match="incomplete"):
        read_control(tmp_path)


def _session(root: Path, name: str, pid: int | None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if pid is not None:
        write_control_files(folder, f"http://127.0.0.1:1/{name}", pid, "t")
    return folder


def test_running_sessions_newest_first_dead_ones_skipped(tmp_path: Path, dead_pid: int) -> None:
    older = _session(tmp_path, "20250101T100000Z-demo", os.getpid())
    newer = _session(tmp_path, "20250101T110000Z-failover", os.getppid())
    _session(tmp_path, "20250101T120000Z-crashed", dead_pid)
    _session(tmp_path, "20250101T130000Z-ended", None)
    (tmp_path / "notes.txt").write_text("not a session")
    assert running_sessions(tmp_path) == [newer, older]
    assert newest_running(tmp_path) == newer


def test_no_running_session_says_how_to_start_one(tmp_path: Path, dead_pid: int) -> None:
    _session(tmp_path, "20250101T120000Z-crashed", dead_pid)
    message = f"no running session under {tmp_path} (start one with `battletui run`)"
    with pytest.raises(NoSession) as caught:
        newest_running(tmp_path)
    assert str(caught.value) == message
    with pytest.raises(NoSession):
        newest_running(tmp_path / "missing")
