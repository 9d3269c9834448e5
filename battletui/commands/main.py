"""The ``battletui`` command: parse the command line, then hand over to one command's module.

Exit codes: 0 pass, 1 an SLO failed, 2 bad input or usage, 3 the session could not start or
be written, 4 inconclusive (the load generator fell behind), 130 interrupted (the session is
still written).

Each command's module is imported only once it is chosen, so ``validate`` and ``ctl``
answer without loading the engine, and only ``run``, ``replay --ui`` and ``attach`` load
Textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from battletui import exit_codes
from battletui.commands.inputs import Usage
from battletui.commands.parser import build_parser
from battletui.scenario import ScenarioError


def main(argv: Sequence[str] | None = None) -> int:
    """The chosen command's exit code; a refused input is one line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _dispatch(args)
    except (ScenarioError, Usage) as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    if code is None:
        parser.print_help()
        return exit_codes.USAGE
    return code


def _dispatch(args: argparse.Namespace) -> int | None:
    """The chosen command's exit code; None when no command matched."""
    command = args.command
    if command is None or command == "run" or (command == "replay" and args.ui):
        from battletui.commands.run import run_command

        return run_command(args)
    if command == "replay":
        from battletui.commands.replay import replay_command

        return replay_command(args)
    if command == "validate":
        from battletui.commands.validate import validate_command

        return validate_command(args)
    if command == "report":
        from battletui.commands.report import report_command

        return report_command(args)
    if command == "lab":
        from battletui.commands.lab import lab_command

        return lab_command(args)
    if command == "attach":
        from battletui.commands.attach import attach_command

        return attach_command(args)
    if command == "ctl":
        from battletui.commands.ctl import ctl_command

        return ctl_command(args)
    return None
