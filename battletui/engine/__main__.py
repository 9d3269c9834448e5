"""The engine process of a live session: ``python -m battletui.engine`` (started by a viewer).

It runs the ``Session`` (workload, subscribers, timeline, probes, journal) on its own event
loop, with the lab and the reference gateway as its own children, and serves the control
API. The viewer that started it reads the ready line (control URL and token) and attaches
like any other viewer. If that viewer dies, the pipe closes and the session is ended and
written (``interrupted``); the lab and the gateway follow the engine out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from battletui.engine.errors import SessionStartError
from battletui.engine.hosting import HostedSession
from battletui.engine.session import Session
from battletui.processes import ChildContext, child_main
from battletui.scenario import loads_scenario

ENGINE_LOG = "engine.log"
LINGER = 600.0
"""Seconds an ended session's engine stays for its viewer to collect the result."""


def _stderr_to_file(root: Path) -> Path:
    """The viewer owns the terminal: our warnings go to a file (moved into the session)."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / f".engine-{os.getpid()}.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    return log


async def run(context: ChildContext) -> int:
    config = context.config
    scenario = loads_scenario(str(config["scenario"]), path="<viewer>", fmt="yaml")
    root = Path(str(config["sessions_root"]))
    try:
        log = _stderr_to_file(root)
    except OSError as error:
        context.fail(f"the session could not be written: {error}")
        return 3
    session = Session(
        scenario,
        sessions_root=root,
        scenario_format=str(config.get("format", "yaml")),
        base_port=config.get("base_port"),
    )
    try:
        await session.start()
    except SessionStartError as error:
        context.fail(str(error))
        return 3
    except OSError as error:
        context.fail(f"the session could not be written: {error}")
        return 3
    finally:
        if session.dir is not None:
            with contextlib.suppress(OSError):
                os.replace(log, session.dir / ENGINE_LOG)
        elif log.exists() and log.stat().st_size == 0:
            log.unlink()
    hosted = HostedSession(session)
    await hosted.open()
    context.ready(
        {
            "url": hosted.url,
            "token": hosted.token,
            "session_dir": str(session.dir),
            "pid": os.getpid(),
        }
    )
    finished = asyncio.create_task(session.wait_finished())
    stopped = asyncio.create_task(context.stop.wait())
    await asyncio.wait({finished, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not finished.done():  # the viewer went away (or a signal): end and write it
        await session.request_finish("interrupted")
    hosted.withdraw()
    if not context.stop.is_set():  # let the viewer collect the result, then go
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(context.stop.wait(), LINGER)
    stopped.cancel()
    await hosted.close()
    return 0


if __name__ == "__main__":
    child_main(run)
