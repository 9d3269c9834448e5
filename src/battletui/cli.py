"""The ``battletui`` command.

Exit codes: 0 pass, 1 an SLO failed, 2 bad input or usage, 3 the lab could not start,
130 interrupted (the session is still written).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from battletui import __version__
from battletui.scenario import Scenario, ScenarioError, load_scenario

EXIT_USAGE = 2
EXIT_LAB_FAILED = 3
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0    every SLO held
  1    an SLO failed
  2    bad input or usage (a broken scenario names file, line and field)
  3    the lab (mock providers, gateway) could not start
  130  interrupted; the session is still written

Sessions are written to ./sessions/<UTC stamp>-<name>/ (override with --sessions or
BATTLETUI_SESSIONS); the folder's path is the last line printed.
"""


def bundled_demo() -> Path:
    """The demo scenario shipped inside the package (``scenarios/demo.yaml`` in the repo)."""
    return Path(str(resources.files("battletui") / "scenarios" / "demo.yaml"))


def _sessions_root(value: str | None) -> Path:
    return Path(value or os.environ.get("BATTLETUI_SESSIONS") or "sessions")


def _format_of(path: Path) -> str:
    return "toml" if path.suffix == ".toml" else "yaml"


def _load(path: Path) -> Scenario:
    return load_scenario(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="battletui",
        description="Live, interactive chaos sessions against JSON-RPC providers. "
        "With no command: the live TUI on the bundled demo scenario.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"battletui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="live TUI on a scenario",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", type=Path, nargs="?", help="scenario file (default: the demo)")
    run.add_argument("--sessions", help="where to write sessions (default ./sessions)")

    replay = commands.add_parser(
        "replay",
        help="run a scenario headlessly and judge its SLOs",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("scenario", type=Path, help="scenario file (.yaml or .toml)")
    replay.add_argument("--ui", action="store_true", help="watch it in the TUI instead")
    replay.add_argument("--sessions", help="where to write sessions (default ./sessions)")

    validate = commands.add_parser("validate", help="check scenario files")
    validate.add_argument("files", type=Path, nargs="+")

    lab = commands.add_parser(
        "lab", help="run a scenario's mock providers and gateway until Ctrl-C"
    )
    lab.add_argument("scenario", type=Path)
    lab.add_argument(
        "--base-port",
        type=int,
        default=None,
        help="gateway on this port, providers on the next ones (default: free ports)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _live(bundled_demo(), None)
        if args.command == "run":
            return _live(args.scenario or bundled_demo(), args.sessions)
        if args.command == "replay":
            if args.ui:
                return _live(args.scenario, args.sessions)
            return _replay(args.scenario, args.sessions)
        if args.command == "validate":
            return _validate(args.files)
        if args.command == "lab":
            return _lab(args.scenario, args.base_port)
    except ScenarioError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return EXIT_USAGE
    parser.print_help()
    return EXIT_USAGE


def _validate(files: Sequence[Path]) -> int:
    status = 0
    for path in files:
        try:
            scenario = _load(path)
        except ScenarioError as error:
            print(str(error), file=sys.stderr)
            status = EXIT_USAGE
        else:
            print(
                f"{path}: ok · {scenario.name} · {scenario.duration:g}s · "
                f"{len(scenario.providers)} providers · {len(scenario.timeline)} actions"
            )
    return status


def _replay(path: Path, sessions: str | None) -> int:
    from battletui.headless import replay

    scenario = _load(path)
    try:
        return asyncio.run(
            replay(
                scenario, sessions_root=_sessions_root(sessions), scenario_format=_format_of(path)
            )
        )
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _live(path: Path, sessions: str | None) -> int:
    scenario = _load(path)
    from battletui.engine import LocalSessionLink, Session
    from battletui.ui import BattleApp

    session = Session(
        scenario, sessions_root=_sessions_root(sessions), scenario_format=_format_of(path)
    )
    app = BattleApp(LocalSessionLink(session))
    folder = app.run()
    if app.start_error:
        print(f"battletui: {app.start_error}", file=sys.stderr)
        return EXIT_LAB_FAILED
    if folder is None:
        return app.return_code or 0
    print(folder)
    code = app.return_code or 0
    if code:
        return code
    from battletui.report import build_result

    return 0 if build_result(session.record())["verdict"] == "pass" else 1


def _lab(path: Path, base_port: int | None) -> int:
    from battletui.labrunner import run_lab

    scenario = _load(path)
    try:
        return asyncio.run(run_lab(scenario, base_port=base_port))
    except KeyboardInterrupt:
        return 0
