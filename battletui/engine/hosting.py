"""Hosting a session: the control server beside it, and the files that say where to connect.

Headless replay and the engine process of a live session both host their ``Session`` this
way, so ``battletui attach``, ``battletui ctl`` and ``textual serve`` can join either.
``control.json`` and the owner-only ``control.token`` exist exactly while the session runs.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from battletui.control.files import new_token, remove_control_files, write_control_files
from battletui.engine.control_server import ControlServer
from battletui.engine.session import Session


class HostedSession:
    """A started ``Session`` plus its control server and control files."""

    def __init__(self, session: Session, *, hz: float = 8.0) -> None:
        self.session = session
        self.token = new_token()
        self.server = ControlServer(session, self.token, hz=hz)
        self._folder: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    async def open(self) -> None:
        """Serve the control API and write ``control.json`` + ``control.token``. A disk that
        refuses them ends the session as a refused journal write does (one line, exit 3)."""
        await self.server.start()
        assert self.session.dir is not None
        self._folder = self.session.dir
        try:
            write_control_files(self._folder, self.server.url, os.getpid(), self.token)
        except OSError as error:
            self.withdraw()  # no half of them left: a viewer finds both or neither
            self.session.write_refused(error)

    def withdraw(self) -> None:
        """Remove the control files (the session has ended); idempotent."""
        if self._folder is not None:
            with contextlib.suppress(OSError):
                remove_control_files(self._folder)

    async def close(self) -> None:
        self.withdraw()
        await self.server.stop()
