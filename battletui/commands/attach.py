"""``battletui attach``: a second viewer on a running session; leaving it leaves the
session running."""

from __future__ import annotations

import argparse
import sys

from battletui import exit_codes
from battletui.commands.inputs import sessions_root_from
from battletui.control.client import RemoteSessionLink
from battletui.control.files import NoSession, engine_alive, newest_running, read_control
from battletui.ui import BattleApp


def attach_command(args: argparse.Namespace) -> int:
    """Exit 2 when there is no session to join or the screen could not open on it."""
    try:
        folder = args.session or newest_running(sessions_root_from(args.sessions))
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
