"""Every bundled scenario passes its SLOs when replayed headlessly (slow: ~5 minutes in all)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from helpers.cli import judged

LONG_SCENARIOS = [
    "failover.yaml",
    "degradation.yaml",
    "ws-failover.yaml",
    "errors.yaml",
    "rate-limit.yaml",
    "hang.yaml",
    "lag.yaml",
    "reorg.yaml",
    "slow-method.yaml",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", LONG_SCENARIOS)
def test_bundled_scenario_passes_headlessly(tmp_path: Path, name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "battletui", "replay", str(REPO / "scenarios" / name)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = judged(done, 0, cwd=tmp_path)
    assert all(action["applied"] for action in result["actions"])


@pytest.mark.slow
def test_demo_scenario_holds_its_slos_for_a_minute_under_the_demo_keys(tmp_path: Path) -> None:
    """The demo runs until quit; check its first minute with a kill and a restore, as a
    presenter would (``--duration`` bounds it)."""
    demo = (REPO / "scenarios" / "demo.yaml").read_text()
    demo += "timeline:\n  - {at: 15s, kill: alpha}\n  - {at: 35s, restore: alpha}\n"
    (tmp_path / "demo-minute.yaml").write_text(demo)
    done = subprocess.run(
        [sys.executable, "-m", "battletui", "replay", "demo-minute.yaml", "--duration", "60s"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
    )
    judged(done, 0, cwd=tmp_path)
