"""Running ``battletui`` as a user does: a real process, its output and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
SCENARIOS = REPO / "scenarios"


def battletui(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m battletui ARGS`` in ``cwd``; never writes into a CI run's own step summary."""
    return subprocess.run(
        [sys.executable, "-m", "battletui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"},
    )


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    """What a command printed last: the session folder, for ``replay`` and ``report``."""
    return done.stdout.strip().splitlines()[-1]


def judged(done: subprocess.CompletedProcess[str], *expected: int, cwd: Path) -> dict[str, Any]:
    """The run's result. Exit 4 (inconclusive) stands in for an ``expected`` code only when
    the result says why: the load generator fell behind on a busy machine and said so
    rather than blaming the gateway. Any other exit code fails the test."""
    assert done.returncode in (*expected, 4), done.stdout + done.stderr
    result: dict[str, Any] = json.loads((cwd / last_line(done) / "result.json").read_text())
    if done.returncode == 4 and 4 not in expected:
        assert result["verdict"] == "inconclusive", result["verdict"]
        assert result["instrument"]["saturated"], result["instrument"]
    return result
