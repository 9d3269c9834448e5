"""``battletui lab``: a session without load, for a gateway someone else drives.

It starts the lab (and the reference gateway unless the scenario names a ``target:``),
prints one line per server, ``id http-url ws-url``, the gateway first when there is one,
writes ``lab.json``, runs the scenario's timeline and serves the control API (so
``battletui ctl`` and ``battletui attach`` work against it) until Ctrl-C or SIGTERM — not
bounded by ``duration``. Then the session folder is written like any other: the report of
the actions, what each provider received, what the observers saw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TextIO

from battletui import exit_codes
from battletui.commands.inputs import scenario_from, sessions_root_from
from battletui.engine import Session, SessionStartError
from battletui.engine.hosting import HostedSession
from battletui.processes import install_uvloop
from battletui.scenario import Scenario, format_of

STOPPED = "stopped"
"""End reason of a lab session ended by Ctrl-C or SIGTERM: its normal end."""


def lab_command(args: argparse.Namespace) -> int:
    """The scenario with ``--base-port`` applied, served until Ctrl-C (exit 0) or SIGTERM."""
    path: Path = args.scenario
    scenario = scenario_from(path, args)
    install_uvloop()  # this process is the engine: the lab session runs on its loop
    try:
        return asyncio.run(
            run_lab(
                scenario,
                sessions_root=sessions_root_from(args.sessions),
                base_port=args.base_port,
                scenario_format=format_of(path),
            )
        )
    except KeyboardInterrupt:
        return 0


async def run_lab(
    scenario: Scenario,
    *,
    sessions_root: Path,
    base_port: int | None = None,
    scenario_format: str = "yaml",
    out: TextIO = sys.stdout,
) -> int:
    session = Session(
        scenario,
        sessions_root=sessions_root,
        scenario_format=scenario_format,
        base_port=base_port,
        load=False,
        until_stopped=True,
    )
    try:
        await session.start()
    except SessionStartError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.COULD_NOT_RUN
    hosted = HostedSession(session)
    await hosted.open()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, session.request_finish, STOPPED)
    _print_servers(session, out)
    print(f"# session {session.dir} · Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        await session.wait_finished()
    finally:
        await hosted.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    print(session.dir, file=out, flush=True)
    return 0 if session.end_reason == STOPPED else exit_codes.COULD_NOT_RUN


def _print_servers(session: Session, out: TextIO) -> None:
    assert session.lab is not None
    if session.gateway is not None:
        print(f"gateway {session.gateway.url} {session.gateway.ws_url}", file=out, flush=True)
    for spec in session.scenario.providers:
        provider = session.lab.providers[spec.id]
        print(f"{provider.id} {provider.url} {provider.ws_url}", file=out, flush=True)
