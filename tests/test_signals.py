"""A signal at any moment — Python still importing, the lab starting, the session running —
ends ``battletui`` with exit code 130 and no traceback, and leaves no process behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from helpers.orphans import process_alive

FAILOVER = str(REPO / "scenarios" / "failover.yaml")


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc), to check none outlives the command."""
    found: list[int] = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(status.parent.name)
            found += [child, *children_of(child)]
    return found


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether ``pid`` has a handler for ``sig`` (the SigCgt mask in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (sig - 1)))


def as_in_a_terminal() -> None:
    """The child starts as a foreground command in a terminal does, with SIGINT's default
    action: a test run in the background of a shell without job control (as CI may run it)
    hands its children SIGINT ignored, and Python then keeps it ignored until our handlers
    are set, so a Ctrl-C while importing would be lost by the test's setup, not by us."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(tmp_path: Path, sig: signal.Signals, moment: str) -> tuple[int, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "battletui", "replay", FAILOVER],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,
    )
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 30
        if moment == "importing":  # its handler is set (the interpreter's own first
            # milliseconds come before any code of ours can run), Textual not imported yet
            while not catches(process.pid, signal.SIGTERM) and time.monotonic() < deadline:
                time.sleep(0.001)
        elif moment == "lab starting":  # the folder exists, the providers are not up yet
            while not list(tmp_path.glob("sessions/*")) and time.monotonic() < deadline:
                time.sleep(0.01)
        elif moment == "running":  # a whole second measured
            while time.monotonic() < deadline and not any(
                '"type":"interval"' in journal.read_text()
                for journal in tmp_path.glob("sessions/*/journal.jsonl")
            ):
                time.sleep(0.02)
        assert time.monotonic() < deadline, f"never reached: {moment}"
        seen = children_of(process.pid)
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    left = [pid for pid in seen if process_alive(pid)]
    deadline = time.monotonic() + 5
    while left and time.monotonic() < deadline:  # children end on their stdin's EOF
        time.sleep(0.05)
        left = [pid for pid in left if process_alive(pid)]
    assert not left, f"left running: {left}"
    return process.returncode, err


@pytest.mark.parametrize(
    ("sig", "moment"),
    [
        (signal.SIGTERM, "importing"),
        (signal.SIGINT, "lab starting"),
        (signal.SIGTERM, "running"),
    ],
)
def test_a_signal_at_any_moment_is_exit_130_without_a_traceback(
    tmp_path: Path, sig: signal.Signals, moment: str
) -> None:
    code, err = interrupt(tmp_path, sig, moment)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    if moment != "importing":
        results = list(tmp_path.glob("sessions/*/result.json"))
        assert results, "the session was written"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("moment", ["importing", "lab starting", "running"])
def test_every_signal_at_every_moment(tmp_path: Path, sig: signal.Signals, moment: str) -> None:
    code, err = interrupt(tmp_path, sig, moment)
    assert code == 130 and "Traceback" not in err, err
