"""``battletui ctl``: apply one action to a running session from a shell or a script.

The action goes over the session's control API exactly as a key press does; the engine
checks it with the scenario file's rules and journals it with ``source: api``. One line
out, and an exit code a script can branch on: 0 applied (verified), 1 it did not take
effect, 2 bad usage, an invalid action, no running session or a refused token.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path

from battletui import exit_codes
from battletui.commands.inputs import Usage
from battletui.control.client import (
    ControlClient,
    ControlError,
    Rejected,
    Unauthorized,
    Unreachable,
)
from battletui.control.files import NoSession, newest_running, read_control
from battletui.control.outcome import ActionOutcome
from battletui.scenario import ACTION_KINDS, TARGETLESS, Action, ParamValue

APPLIED = 0
NOT_APPLIED = 1

EPILOG = """\
examples:
  battletui ctl kill alpha
  battletui ctl degrade beta --latency +100ms --jitter 20ms
  battletui ctl errors beta --rate 0.5 --kind rate-limit
  battletui ctl flap gamma --down 2s --up 3s --cycles 4
  battletui ctl reorg --depth 3
  battletui ctl strategy round-robin
  battletui ctl mark "gateway recovered"
  battletui ctl restore alpha

Parameters are a timeline entry's keys (see the scenario format) and are checked by the
same rules. The session is the newest running one under --sessions unless --session names
it. Exit codes: 0 applied and verified, 1 it did not take effect, 2 bad usage, an invalid
action, no running session or a refused token.
"""

_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")


def add_ctl_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    ctl = subparsers.add_parser(
        "ctl",
        help="apply one action to a running session (scripted chaos)",
        description="Apply one action to a running session and print its verified outcome.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ctl.add_argument("action", metavar="ACTION", help=f"one of: {', '.join(ACTION_KINDS)}")
    ctl.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        metavar="[TARGET] [--param value ...]",
        help="the provider (or a mark's label, a strategy's name, a reorg's depth), then "
        "the action's parameters",
    )
    ctl.add_argument(
        "--session", type=Path, metavar="DIR", help="the session folder (default: newest running)"
    )
    ctl.add_argument("--sessions", metavar="ROOT", help="where sessions are (default ./sessions)")
    ctl.set_defaults(ctl_parser=ctl)
    return ctl


def ctl_command(args: argparse.Namespace) -> int:
    """One action, one line out; 0 applied, 1 not applied, 2 bad usage or no session."""
    rest: list[str] = list(getattr(args, "rest", None) or [])
    if "-h" in rest or "--help" in rest:
        parser = getattr(args, "ctl_parser", None)
        print(parser.format_help() if parser is not None else EPILOG)
        return APPLIED
    try:
        action, session, sessions = _parse(str(args.action), rest)
        folder = session or args.session
        root = sessions or args.sessions or os.environ.get("BATTLETUI_SESSIONS") or "sessions"
        url, token = read_control(folder if folder else newest_running(Path(root)))
        outcome = asyncio.run(_apply(url, token, action))
    except (Usage, NoSession, Unauthorized, Rejected, Unreachable) as err:
        print(f"battletui ctl: {err}", file=sys.stderr)
        return exit_codes.USAGE
    except ControlError as err:
        print(_line(False, _what(args.action, rest), str(err)))
        return NOT_APPLIED
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    if outcome.applied:
        print(_line(True, outcome.action.describe(), outcome.detail))
        return APPLIED
    print(_line(False, outcome.action.describe(), outcome.error or outcome.detail))
    return NOT_APPLIED


async def _apply(url: str, token: str, action: Action) -> ActionOutcome:
    async with ControlClient(url, token) as client:
        return await client.apply(action, "api")


def _parse(kind: str, rest: list[str]) -> tuple[Action, Path | None, str | None]:
    """``ACTION [TARGET] [--param value ...]`` -> the action as a person wrote it."""
    if kind not in ACTION_KINDS:
        raise Usage(f"unknown action {kind!r} (known: {', '.join(ACTION_KINDS)})")
    positional: list[str] = []
    params: dict[str, ParamValue] = {}
    session: Path | None = None
    sessions: str | None = None
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("--") or token == "--":
            positional.append(token)
            continue
        name, equals, value = token[2:].partition("=")
        if not equals:
            following = next(tokens, None)
            if following is None or following.startswith("--"):
                raise Usage(f"--{name} needs a value")
            value = following
        if name == "session":
            session = Path(value)
        elif name == "sessions":
            sessions = value
        else:
            key = name.replace("-", "_")
            if key in params:
                raise Usage(f"--{name} given twice")
            params[key] = _scalar(value)
    value_key = TARGETLESS.get(kind)
    target: str | None = None
    if kind == "mark" and positional:
        positional = [" ".join(positional)]  # an unquoted label
    if len(positional) > 1:
        raise Usage(f"unexpected {positional[1]!r} (parameters are --name value)")
    if positional and value_key is not None:
        if value_key in params:
            raise Usage(f"{kind}'s {value_key} given twice")
        params[value_key] = positional[0] if kind == "mark" else _scalar(positional[0])
    elif positional:
        target = positional[0]
    return Action(kind, target, params), session, sessions


def _scalar(text: str) -> ParamValue:
    """A command-line value read the way YAML reads a plain scalar ("+100ms" stays text)."""
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _line(ok: bool, what: str, detail: str | None) -> str:
    return _printable(f"{'✓' if ok else '✗'} {what}" + (f" · {detail}" if detail else ""))


def _what(kind: object, rest: list[str]) -> str:
    words = [str(kind), *(word for word in rest[:1] if not word.startswith("--"))]
    return " ".join(words)


def _printable(text: str) -> str:
    """The line as this terminal can print it (plain ASCII marks where ✓ will not go)."""
    encoding = sys.stdout.encoding or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.replace("✓", "ok").replace("✗", "FAILED").replace("·", "-")
        return text.encode("ascii", "replace").decode("ascii")
    return text
