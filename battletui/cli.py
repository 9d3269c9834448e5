"""The ``battletui`` command.

Exit codes: 0 pass, 1 an SLO failed, 2 bad input or usage, 3 the lab could not start,
4 inconclusive (the load generator fell behind), 130 interrupted (the session is still
written).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from battletui import __version__, exit_codes
from battletui.ctl import add_ctl_parser, run_ctl
from battletui.scenario import Scenario, ScenarioError, format_of, load_scenario


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


def bundled_demo() -> Path:
    """The demo scenario shipped inside the package (``scenarios/demo.yaml`` in the repo)."""
    return Path(str(resources.files("battletui") / "scenarios" / "demo.yaml"))


def _sessions_root(value: str | None) -> Path:
    return Path(value or os.environ.get("BATTLETUI_SESSIONS") or "sessions")


DEFAULT_TOLERANCE = "10%"
WRITE_FAILED = "the session could not be written"
"""How the engine's message starts when the disk refused the session (``Session``)."""
MAX_PORT = 65535


class Usage(ValueError):
    """A command-line value refused before anything starts (one line, exit 2)."""


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


def _scenario(path: Path, args: argparse.Namespace) -> Scenario:
    """The scenario file with the command line's --target / --target-ws / --base-port
    applied and checked; ScenarioError or Usage (one line each)."""
    from battletui.scenario import override_run, override_target

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


def _baseline(path: Path | None, tolerance: str) -> Callable[[dict[str, Any]], None] | None:
    """The result decorator comparing with a baseline; ValueError (one line) for bad input."""
    if path is None:
        return None
    from battletui.report.baseline import against_baseline, load_baseline, parse_tolerance

    fraction = parse_tolerance(tolerance)
    return against_baseline(load_baseline(path), tolerance=fraction, baseline_file=str(path))


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
    replay.add_argument(
        "--tolerance",
        default=DEFAULT_TOLERANCE,
        help="how much worse a figure may get against the baseline (default 10%%)",
    )
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

    validate = commands.add_parser(
        "validate",
        help="check scenario files",
        description="Check each scenario file without running it: one line per file, "
        "`file: ok · name · duration · providers · actions`, or `file:line: field: message` "
        "on standard error. Exit 0 when every file is valid, 2 otherwise.",
    )
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE")

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
    report.add_argument(
        "--tolerance",
        default=DEFAULT_TOLERANCE,
        help="how much worse a figure may get against the baseline (default 10%%)",
    )

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

    add_ctl_parser(commands)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _live(bundled_demo(), None)
        if args.command == "run":
            return _live(args.scenario or bundled_demo(), args.sessions, args)
        if args.command == "replay":
            if args.ui:
                return _live(args.scenario, args.sessions, args, view_only=True)
            return _replay(
                args.scenario, args.sessions, args.junit, args.baseline, args.tolerance, args
            )
        if args.command == "validate":
            return _validate(args.files)
        if args.command == "report":
            return _report(args.session, args.baseline, args.tolerance)
        if args.command == "lab":
            return _lab(args.scenario, args)
        if args.command == "attach":
            return _attach(args.session, args.sessions)
        if args.command == "ctl":
            return run_ctl(args)
    except (ScenarioError, Usage) as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    parser.print_help()
    return exit_codes.USAGE


def _validate(files: Sequence[Path]) -> int:
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


def _replay(
    path: Path,
    sessions: str | None,
    junit: Path | None = None,
    baseline: Path | None = None,
    tolerance: str = DEFAULT_TOLERANCE,
    args: argparse.Namespace | None = None,
) -> int:
    from battletui.headless import replay

    scenario = _scenario(path, args or argparse.Namespace())
    if scenario.open_ended:
        raise Usage(
            f"{path}: duration: 0 runs until quit; give --duration to replay it headless "
            "(or watch it with --ui)"
        )
    try:
        decorate = _baseline(baseline, tolerance)
    except ValueError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    from battletui.processes import install_uvloop

    install_uvloop()  # this process is the engine: its loop times every request
    try:
        return asyncio.run(
            replay(
                scenario,
                sessions_root=_sessions_root(sessions),
                scenario_format=format_of(path),
                junit=junit,
                decorate=decorate,
                base_port=getattr(args, "base_port", None),
            )
        )
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


def _live(
    path: Path,
    sessions: str | None,
    args: argparse.Namespace | None = None,
    *,
    view_only: bool = False,
) -> int:
    """The live TUI as the owner of a new session: the engine runs in its own process.
    ``view_only`` (``replay --ui``): watched, not acted on. Prints the verdict, then the
    session folder."""
    scenario = _scenario(path, args or argparse.Namespace())
    from battletui.control.engine_link import OwnedSessionLink
    from battletui.ui import BattleApp

    link = OwnedSessionLink(
        scenario,
        sessions_root=_sessions_root(sessions),
        scenario_format=format_of(path),
        base_port=getattr(args, "base_port", None),
        yield_cpu=True,
    )
    app = BattleApp(link, owner=True, view_only=view_only)
    folder = app.run()
    if app.start_error:
        print(f"battletui: {app.start_error}", file=sys.stderr)
        return exit_codes.LAB_FAILED
    folder = folder or link.session_dir
    if folder is None:
        return app.return_code or 0
    said = link.snapshot().message or ""
    if link.exit_code == exit_codes.LAB_FAILED and said.startswith(WRITE_FAILED):
        print(f"battletui: {said}", file=sys.stderr)  # the disk refused: no rebuild there
        return exit_codes.LAB_FAILED
    if not (folder / "result.json").is_file() or app.lost_reason or link.finish_error:
        why = app.lost_reason or link.finish_error or "the session was not written"
        print(f"battletui: {why}; rebuilding the session from its journal", file=sys.stderr)
        from battletui.recover import report_session

        report_session(folder)
        return exit_codes.LAB_FAILED
    import json

    from battletui.report.summary import print_summary

    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    print_summary(result, sys.stdout)
    print(folder)
    code = app.return_code or 0
    if code:
        return code
    if link.exit_code is not None:
        return link.exit_code
    return exit_codes.of_result(result)


def _attach(folder: Path | None, sessions: str | None) -> int:
    """A second viewer on a running session; leaving it leaves the session running."""
    from battletui.control.client import RemoteSessionLink
    from battletui.control.files import NoSession, engine_alive, newest_running, read_control
    from battletui.ui import BattleApp

    try:
        folder = folder or newest_running(_sessions_root(sessions))
        url, token = read_control(folder)
    except NoSession as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    from battletui.control.engine_link import yield_to_the_measurement

    yield_to_the_measurement()
    found = folder
    link = RemoteSessionLink(url, token, owner=False, engine_alive=lambda: engine_alive(found))
    app = BattleApp(link, owner=False)
    app.run()
    if app.start_error:
        print(f"battletui: {app.start_error}", file=sys.stderr)
        return exit_codes.USAGE
    if app.lost_reason:
        print(app.lost_reason)
    else:
        print(f"left {folder}; the session keeps running")
    return 0


def _report(folder: Path, baseline: Path | None, tolerance: str) -> int:
    from battletui.recover import report_session

    try:
        decorate = _baseline(baseline, tolerance)
    except ValueError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.USAGE
    return report_session(folder, decorate=decorate)


def _lab(path: Path, args: argparse.Namespace) -> int:
    from battletui.labrunner import run_lab

    scenario = _scenario(path, args)
    from battletui.processes import install_uvloop

    install_uvloop()  # this process is the engine: the lab session runs on its loop
    try:
        return asyncio.run(
            run_lab(
                scenario,
                sessions_root=_sessions_root(args.sessions),
                base_port=args.base_port,
                scenario_format=format_of(path),
            )
        )
    except KeyboardInterrupt:
        return 0
