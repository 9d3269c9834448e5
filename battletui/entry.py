"""The ``battletui`` command's first lines: a signal at any moment is an interrupt.

Ctrl-C or a SIGTERM can come while Python is still importing Textual or the lab is starting;
either way the command ends with exit code 130 and no traceback. Once a session runs, its
own handlers take over and write it before leaving.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import NoReturn

INTERRUPTED = 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run() -> NoReturn:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from battletui.commands.main import main

        code = main()
    except KeyboardInterrupt:
        code = INTERRUPTED
    sys.exit(code)
