"""What a command reads off its command line before anything starts: the scenario with its
overrides, the baseline to compare with, where sessions go. A refused value is ``Usage``:
one line and exit 2, before any process starts."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from battletui.scenario import Scenario, load_scenario, override_run, override_target

DEFAULT_TOLERANCE = "10%"
MAX_PORT = 65535


class Usage(ValueError):
    """A command-line value refused before anything starts (one line, exit 2)."""


def bundled_demo() -> Path:
    """The demo scenario shipped inside the package (``scenarios/demo.yaml`` in the repo)."""
    return Path(str(resources.files("battletui") / "scenarios" / "demo.yaml"))


def sessions_root_from(value: str | None) -> Path:
    """``--sessions``, else ``BATTLETUI_SESSIONS``, else ``./sessions``."""
    return Path(value or os.environ.get("BATTLETUI_SESSIONS") or "sessions")


def check_base_port(base_port: int | None, providers: int) -> None:
    """Usage (one line) when the providers would not all get a port."""
    if base_port is None:
        return
    top = MAX_PORT - providers
    if not 1 <= base_port <= top:
        raise Usage(
            f"--base-port: {base_port} is out of range (1 to {top} for {providers} "
            f"provider{'s' if providers != 1 else ''}, which listen on N+1 to N+{providers})"
        )


def scenario_from(path: Path, args: argparse.Namespace) -> Scenario:
    """The scenario file with the command line's --target / --target-ws / --duration /
    --rate / --base-port applied and checked; ScenarioError or Usage (one line each)."""
    scenario = load_scenario(path)
    try:
        scenario = override_target(
            scenario, getattr(args, "target", None), getattr(args, "target_ws", None)
        )
        scenario = override_run(
            scenario, getattr(args, "duration", None), getattr(args, "rate", None)
        )
    except ValueError as error:
        raise Usage(str(error)) from None
    check_base_port(getattr(args, "base_port", None), len(scenario.providers))
    return scenario


def baseline_from(path: Path | None, tolerance: str) -> Callable[[dict[str, Any]], None] | None:
    """The result decorator comparing with a baseline, if one is given; Usage for bad input."""
    if path is None:
        return None
    from battletui.report.baseline import against_baseline, load_baseline, parse_tolerance

    try:
        fraction = parse_tolerance(tolerance)
        return against_baseline(load_baseline(path), tolerance=fraction, baseline_file=str(path))
    except ValueError as error:
        raise Usage(str(error)) from None
