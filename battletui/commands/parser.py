"""The ``battletui`` command line: one subcommand per command module, and the epilogs
that document the exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path

from battletui import __version__
from battletui.commands.ctl import add_ctl_parser
from battletui.commands.inputs import DEFAULT_TOLERANCE


def _epilog(*, baseline: bool = False) -> str:
    """Exit codes and where sessions go; the ``--baseline`` line only where there is one."""
    regressed = (
        "  1    ... or, with --baseline, a figure regressed beyond the tolerance\n"
        if baseline
        else ""
    )
    return (
        "exit codes:\n"
        "  0    every SLO held\n"
        "  1    an SLO failed\n"
        f"{regressed}"
        "  2    bad input or usage (a broken scenario names file, line and field)\n"
        "  3    the lab (mock providers, gateway) could not start, or the session could not be\n"
        "       written\n"
        "  4    inconclusive: the load generator fell behind (slip p99 above 5 ms, or under 99 %\n"
        "       of the requests due were sent), so latency is not a measurement of the gateway\n"
        "  130  interrupted; the session is still written\n"
        "\n"
        "Sessions are written to ./sessions/<UTC stamp>-<name>/ (override with --sessions or\n"
        "BATTLETUI_SESSIONS); the folder's path is the last line printed. Inside GitHub Actions\n"
        "(GITHUB_STEP_SUMMARY set) the report is also appended to the job summary. On a terminal\n"
        "replay shows a progress bar; piped, it prints one plain status line per second.\n"
    )


EPILOG = _epilog(baseline=True)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="battletui",
        description="Live, interactive chaos sessions against JSON-RPC providers. "
        "With no command: the live TUI on the bundled demo scenario.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"battletui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(commands)
    _add_replay(commands)
    _add_validate(commands)
    _add_report(commands)
    _add_attach(commands)
    add_ctl_parser(commands)
    _add_lab(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="live TUI on a scenario",
        description="Open the live screen on a new session of SCENARIO (the bundled demo "
        "when none is given): keys break the providers, q (or Ctrl-Q, Ctrl-C) ends it and "
        "writes the session folder: the replayable scenario, report.md and result.json.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", type=Path, nargs="?", help="scenario file (default: the demo)")
    run.add_argument("--sessions", help="where to write sessions (default ./sessions)")
    _add_run_overrides(run, open_ended=True)
    _add_target(run)
    _add_base_port(run)


def _add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "replay",
        help="run a scenario headlessly and judge its SLOs",
        description="Run SCENARIO (a recorded session's scenario.yaml, or any scenario file) "
        "without a screen, apply its timeline at the recorded offsets, write the session "
        "and exit with its verdict. --ui watches it in the live screen, view only.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("scenario", type=Path, help="scenario file (.yaml or .toml)")
    replay.add_argument("--ui", action="store_true", help="watch it in the TUI instead")
    replay.add_argument(
        "--baseline",
        type=Path,
        metavar="RESULT",
        help="compare with an earlier result.json (or its session folder); a figure that "
        "regresses beyond the tolerance fails the replay (exit 1) and the report says which",
    )
    _add_tolerance(replay)
    replay.add_argument("--sessions", help="where to write sessions (default ./sessions)")
    replay.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write the result as JUnit XML to FILE (one test case per SLO) once the "
        "session is written; exit 2 if FILE cannot be written",
    )
    _add_run_overrides(replay, open_ended=False)
    _add_target(replay)
    _add_base_port(replay)


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="check scenario files",
        description="Check each scenario file without running it: one line per file, "
        "`file: ok · name · duration · providers · actions`, or `file:line: field: message` "
        "on standard error. Exit 0 when every file is valid, 2 otherwise.",
    )
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE")


def _add_report(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="rebuild a session's scenario, report.md, result.json and latency.hlog from its "
        "journal (also after a crash or SIGKILL)",
        description="Rebuild a session's outputs (scenario, report.md, result.json, "
        "latency.hlog) from its journal alone: after a crash, a SIGKILL, or to compare it "
        "with a baseline. Exits with the session's verdict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("session", type=Path, help="a session folder (or its journal.jsonl)")
    report.add_argument(
        "--baseline",
        type=Path,
        metavar="RESULT",
        help="compare with an earlier result.json (or its session folder)",
    )
    _add_tolerance(report)


def _add_attach(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    attach = commands.add_parser(
        "attach",
        help="open the live screen on a running session (a second viewer); q leaves it running",
        description="Open the live screen on a session that is already running (started by "
        "`battletui run`, `battletui replay` or the bare `battletui`). Keys act on it like on "
        "the first viewer's; quitting this viewer leaves the session running. In a browser: "
        "textual serve -h 127.0.0.1 \"battletui attach\" (pip install 'battletui[web]').",
    )
    attach.add_argument(
        "session", type=Path, nargs="?", help="session folder (default: the newest running one)"
    )
    attach.add_argument("--sessions", help="where sessions are (default ./sessions)")


def _add_lab(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = commands.add_parser(
        "lab",
        help="a session without load: the mock providers (and the reference gateway unless "
        "the scenario has a target:), the timeline and the control API, until Ctrl-C",
        description="Start the scenario's mock providers (and the reference gateway unless "
        "the scenario names a target:), print one line per server (id http-url ws-url, the "
        "gateway first), write lab.json, run the timeline and accept actions (battletui "
        "ctl, battletui attach) until Ctrl-C or SIGTERM; then write the session folder.",
    )
    lab.add_argument("scenario", type=Path)
    _add_base_port(lab)
    lab.add_argument("--sessions", help="where to write sessions (default ./sessions)")


def _add_tolerance(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tolerance",
        default=DEFAULT_TOLERANCE,
        help="how much worse a figure may get against the baseline (default 10%%)",
    )


def _add_base_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-port",
        type=int,
        default=None,
        metavar="N",
        help="providers on N+1, N+2, ... in the scenario's order; the reference gateway on N "
        "when it runs (default: free ports). lab.json in the session folder lists them",
    )


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="HTTP_URL",
        help="test this gateway instead of the reference one (a loopback URL; sets or "
        "overrides the scenario's target.http)",
    )
    parser.add_argument(
        "--target-ws",
        metavar="WS_URL",
        help="where its WebSocket subscribers connect (sets or overrides target.ws)",
    )


def _add_run_overrides(parser: argparse.ArgumentParser, *, open_ended: bool) -> None:
    until = " (0: until you quit)" if open_ended else ""
    parser.add_argument(
        "--duration",
        metavar="TIME",
        help=f"how long the session runs, e.g. 90s or 10m{until}; overrides the file's",
    )
    parser.add_argument(
        "--rate",
        metavar="REQ_PER_S",
        help="the HTTP load's target rate (or max, a closed loop); overrides the file's",
    )
