"""``battletui validate FILE...``: check scenario files without running them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from battletui import exit_codes
from battletui.scenario import ScenarioError, load_scenario


def validate_command(args: argparse.Namespace) -> int:
    """Exit 0 when every file is valid, 2 otherwise."""
    return validate_files(args.files)


def validate_files(files: Sequence[Path]) -> int:
    """One line per file (ok on stdout, the error on stderr); 2 when any file is broken."""
    status = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            print(str(error), file=sys.stderr)
            status = exit_codes.USAGE
        else:
            length = "until quit" if scenario.open_ended else f"{scenario.duration:g}s"
            print(
                f"{path}: ok · {scenario.name} · {length} · "
                f"{len(scenario.providers)} providers · {len(scenario.timeline)} actions"
            )
    return status
