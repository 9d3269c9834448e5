"""The viewer that starts a session: spawns the engine process, then follows it like any
other viewer over the control API.

The engine is this viewer's child. Quitting ends and writes the session (``finish``); if
this viewer dies instead, the engine sees its pipe close and writes the session itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from battletui.control.client import RemoteSessionLink
from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.metrics import Event, Snapshot
from battletui.processes import ChildError, ChildProcess
from battletui.scenario import Action, Scenario, dumps_scenario

ENGINE_MODULE = "battletui.engine"


VIEWER_NICENESS = 10


def yield_to_the_measurement() -> None:
    """Lower this viewer's CPU priority: on a busy machine, drawing a frame late costs
    nothing, while the engine, the lab and the gateway timing late would move the figures
    the screen shows. Processes started before this keep their priority."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(VIEWER_NICENESS)


class EngineStartError(RuntimeError):
    """The engine could not start the session (a port is taken, the folder is unwritable)."""


class OwnedSessionLink:
    """A ``SessionLink`` that owns its session: it starts the engine and ends it."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        sessions_root: Path,
        scenario_format: str = "yaml",
        base_port: int | None = None,
        yield_cpu: bool = False,
        route: Callable[[str], str] | None = None,
    ) -> None:
        """``yield_cpu``: once the engine runs, lower this process's CPU priority (the CLI
        does; tests, which run sessions in their own process too, do not). ``route``: the
        address to reach the control API by, given the engine's (a proxy in between)."""
        self._yield_cpu = yield_cpu
        self._route = route
        self._config = {
            "scenario": dumps_scenario(scenario, "yaml"),
            "format": scenario_format,
            "sessions_root": str(sessions_root.resolve()),
            "base_port": base_port,
        }
        self._scenario = scenario
        self._engine: ChildProcess | None = None
        self._remote: RemoteSessionLink | None = None
        self.session_dir: Path | None = None
        self.finish_error: str | None = None
        """Why the engine could not be asked to end the session (it was gone)."""

    @property
    def engine_pid(self) -> int | None:
        return None if self._engine is None else self._engine.pid

    def _engine_running(self) -> bool:
        return self._engine is not None and self._engine.running

    @property
    def reconnecting(self) -> bool:
        return self._remote is not None and self._remote.reconnecting

    @property
    def viewer_events(self) -> Sequence[Event]:
        return () if self._remote is None else tuple(self._remote.viewer_events)

    @property
    def lost(self) -> bool:
        return self._remote is not None and self._remote.lost

    @property
    def lost_reason(self) -> str | None:
        return None if self._remote is None else self._remote.lost_reason

    @property
    def exit_code(self) -> int | None:
        return None if self._remote is None else self._remote.exit_code

    async def start(self) -> None:
        try:
            self._engine = await ChildProcess.spawn("engine", ENGINE_MODULE, self._config)
        except ChildError as error:
            raise EngineStartError(str(error)) from error
        if self._yield_cpu:
            yield_to_the_measurement()  # after the spawn: the engine keeps its priority
        ready = self._engine.ready
        self.session_dir = Path(str(ready["session_dir"]))
        url = str(ready["url"])
        self._remote = RemoteSessionLink(
            self._route(url) if self._route else url,
            str(ready["token"]),
            owner=True,
            engine_alive=self._engine_running,
        )
        try:
            await self._remote.start()
        except Exception:
            await self._engine.stop()
            raise

    def snapshot(self) -> Snapshot:
        if self._remote is None:
            return Snapshot(
                scenario=self._scenario.name,
                phase="starting",
                elapsed=0.0,
                duration=self._scenario.duration,
                target_rate=self._scenario.workload.http.rate,
                strategy=self._scenario.gateway.strategy,
            )
        return self._remote.snapshot()

    async def apply(
        self, action: Action, source: ActionSource = "key", *, at: float | None = None
    ) -> ActionOutcome:
        if self._remote is None:
            return ActionOutcome(action, 0.0, source, False, error="the session is not running")
        return await self._remote.apply(action, source, at=at)

    async def finish(self, reason: str) -> Path | None:
        """End and write the session, then let the engine go; the session folder.

        Never raises: if the engine is gone, ``finish_error`` says why and the caller
        rebuilds the session from its journal (the folder is known from the start).
        """
        folder: Path | None = self.session_dir
        try:
            if self._remote is not None:
                folder = await self._remote.finish(reason) or folder
        except Exception as error:
            self.finish_error = str(error) or type(error).__name__
        finally:
            if self._engine is not None:
                await self._engine.stop(timeout=10.0)
        return folder
