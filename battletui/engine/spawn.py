"""Starting one part of the session under test (the lab, the reference gateway) as a child
process, with the one-line ``SessionStartError`` a user sees when it cannot start (exit code 3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from battletui.engine.errors import SessionStartError
from battletui.processes import READY_TIMEOUT, ChildError, ChildProcess

_T = TypeVar("_T")


async def spawn_part(
    name: str,
    module: str,
    config: Mapping[str, Any],
    read_ready: Callable[[Mapping[str, Any]], _T],
    *,
    log: Path | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> tuple[ChildProcess, _T]:
    """Spawn ``python -m module`` and read its ready line with ``read_ready``; raise
    ``SessionStartError`` ("the <name> could not start: <its own reason>") when either fails."""
    cannot = f"the {name} could not start"
    try:
        child = await ChildProcess.spawn(name, module, config, log=log, ready_timeout=ready_timeout)
    except ChildError as error:
        reason = " ".join(str(error).split())
        raise SessionStartError(
            reason if reason.startswith(cannot) else f"{cannot}: {reason}"
        ) from error
    try:
        return child, read_ready(child.ready)
    except (KeyError, TypeError, ValueError) as error:
        await child.stop()
        raise SessionStartError(f"{cannot}: unreadable ready line: {error}") from error
