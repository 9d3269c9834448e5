"""Where a running session's control API is: two files in its session folder.

``control.json`` (``url``, ``pid``) says where to connect; ``control.token`` holds the bearer
token and is created readable by its owner only (mode 0600 from the first byte, never
chmod-ed afterwards, so no other user can read it in between). Both go when the session ends;
a folder whose engine died without cleaning up is told apart by its pid no longer running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

CONTROL_NAME = "control.json"
TOKEN_NAME = "control.token"


class NoSession(Exception):
    """No running session where one was asked for (one line, says where and what to do)."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_control_files(folder: Path, url: str, pid: int, token: str) -> None:
    """Token first, then ``control.json`` atomically: a reader who finds one finds both."""
    token_path = folder / TOKEN_NAME
    token_path.unlink(missing_ok=True)  # O_CREAT keeps an old file's mode; start afresh
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(token)
    partial = folder / f".{CONTROL_NAME}.tmp"
    partial.write_text(json.dumps({"url": url, "pid": pid}) + "\n", encoding="utf-8")
    os.replace(partial, folder / CONTROL_NAME)


def remove_control_files(folder: Path) -> None:
    for name in (CONTROL_NAME, TOKEN_NAME, f".{CONTROL_NAME}.tmp"):
        with contextlib.suppress(OSError):
            (folder / name).unlink()


def remove_stale_control_files(folder: Path) -> bool:
    """Remove control files whose engine is gone (it was killed); True if it did."""
    if not (folder / CONTROL_NAME).is_file() or _alive(_pid_of(folder)):
        return False
    remove_control_files(folder)
    return True


def read_control(folder: Path) -> tuple[str, str]:
    """``(url, token)`` of the session in ``folder``; ``NoSession`` if it has none."""
    try:
        info = json.loads((folder / CONTROL_NAME).read_text(encoding="utf-8"))
        token = (folder / TOKEN_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise NoSession(f"no running session in {folder} (no {CONTROL_NAME})") from None
    except PermissionError:
        raise NoSession(f"cannot read the control files in {folder} (permission denied)") from None
    except (OSError, ValueError) as err:
        raise NoSession(f"cannot read the control files in {folder}: {err}") from None
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not token:
        raise NoSession(f"the control files in {folder} are incomplete")
    return url, token


def running_sessions(root: Path) -> list[Path]:
    """Folders under ``root`` whose engine is still running, newest first.

    Folder names start with a UTC stamp, so name order is start order.
    """
    try:
        folders = [entry for entry in root.iterdir() if (entry / CONTROL_NAME).is_file()]
    except OSError:
        return []
    return sorted((f for f in folders if _alive(_pid_of(f))), key=lambda f: f.name, reverse=True)


def engine_alive(folder: Path) -> bool:
    """The session in ``folder`` still has a running engine: its control files are there
    (they go when it ends) and their pid runs. What a viewer that lost the stream asks
    before reconnecting."""
    return _alive(_pid_of(folder))


def newest_running(root: Path) -> Path:
    sessions = running_sessions(root)
    if not sessions:
        raise NoSession(f"no running session under {root} (start one with `battletui run`)")
    return sessions[0]


def _pid_of(folder: Path) -> int | None:
    try:
        info = json.loads((folder / CONTROL_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = info.get("pid") if isinstance(info, dict) else None
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True
