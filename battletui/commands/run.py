"""``battletui run`` (and the bare ``battletui``, and ``replay --ui``): the live screen as the
owner of a new session, whose engine runs in its own process.

Prints the verdict, then the session folder; when the session was not written whole, it is
rebuilt from its journal (``battletui report``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from battletui import exit_codes
from battletui.commands.inputs import bundled_demo, scenario_from, sessions_root_from
from battletui.scenario import format_of

if TYPE_CHECKING:
    from battletui.control.engine_link import OwnedSessionLink
    from battletui.ui import BattleApp

WRITE_FAILED = "the session could not be written"
"""How the engine's message starts when the disk refused the session (``Session``)."""


def run_command(args: argparse.Namespace) -> int:
    """``replay --ui`` is watched, not acted on; ``run`` without a file runs the demo."""
    path: Path = getattr(args, "scenario", None) or bundled_demo()
    scenario = scenario_from(path, args)
    # Textual loads only once the scenario is good: a broken file answers at once.
    from battletui.control.engine_link import OwnedSessionLink
    from battletui.ui import BattleApp

    link = OwnedSessionLink(
        scenario,
        sessions_root=sessions_root_from(getattr(args, "sessions", None)),
        scenario_format=format_of(path),
        base_port=getattr(args, "base_port", None),
        yield_cpu=True,
    )
    app = BattleApp(link, owner=True, view_only=getattr(args, "ui", False))
    folder = app.run()
    if app.start_error:
        print(f"battletui: {app.start_error}", file=sys.stderr)
        return exit_codes.COULD_NOT_RUN
    folder = folder or link.session_dir
    if folder is None:
        return app.return_code or 0
    return _conclude(app, link, folder)


def _conclude(app: BattleApp, link: OwnedSessionLink, folder: Path) -> int:
    """The summary and the exit code of a session the screen ended; a session not written
    whole is rebuilt from its journal, unless the disk refused it."""
    said = link.snapshot().message or ""
    if link.exit_code == exit_codes.COULD_NOT_RUN and said.startswith(WRITE_FAILED):
        print(f"battletui: {said}", file=sys.stderr)  # the disk refused: no rebuild there
        return exit_codes.COULD_NOT_RUN
    if not (folder / "result.json").is_file() or app.lost_reason or link.finish_error:
        why = app.lost_reason or link.finish_error or "the session was not written"
        print(f"battletui: {why}; rebuilding the session from its journal", file=sys.stderr)
        from battletui.commands.report import report_session

        report_session(folder)
        return exit_codes.COULD_NOT_RUN
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
