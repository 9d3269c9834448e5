"""``LabWatcher``: the engine's running picture of the lab, read over its control endpoint.

Polls ``GET /state`` a few times a second and keeps the latest faults and received counts
of every provider for the live snapshot (the screen reads them from here, never from the
providers' objects). Once a second it hands the cumulative received counts to a callback,
which the session journals; the report turns consecutive entries into per-second traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Final

from battletui.engine.lab_client import LabClient, LabRequestError, LabState, Received
from battletui.providers import FaultState

POLL_INTERVAL: Final = 0.25
REPORT_EVERY: Final = 1.0

ReceivedCallback = Callable[[Mapping[str, Received]], None]


class LabWatcher:
    """Keeps ``latest`` (the last ``LabState`` read) fresh; ``last_error`` says why a poll
    failed (None while the lab answers)."""

    def __init__(
        self,
        client: LabClient,
        *,
        on_received: ReceivedCallback | None = None,
        interval: float = POLL_INTERVAL,
        report_every: float = REPORT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._on_received = on_received
        self._interval = interval
        self._report_every = report_every
        self._clock = clock
        self.latest: LabState | None = None
        self.last_error: str | None = None
        self._unreported = False
        self._task: asyncio.Task[None] | None = None

    # -- reading ---------------------------------------------------------------------------

    def faults(self, provider_id: str) -> FaultState:
        """The provider's faults as last read (no fault before the first read)."""
        state = self.latest.providers.get(provider_id) if self.latest else None
        return state.faults if state is not None else FaultState()

    def received(self, provider_id: str) -> Received:
        """What the provider received so far, as last read."""
        state = self.latest.providers.get(provider_id) if self.latest else None
        return state.received if state is not None else Received()

    # -- running ---------------------------------------------------------------------------

    async def poll(self) -> LabState | None:
        """Read the lab's state now (e.g. right after a fault); None if it did not answer."""
        try:
            state = await self._client.state()
        except LabRequestError as error:
            self.last_error = str(error)
            return None
        self.latest = state
        self.last_error = None
        self._unreported = True
        return state

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lab-watcher")

    async def stop(self, *, final: bool = True) -> None:
        """Stop polling; with ``final``, read once more and report those counts (call it
        before the lab stops, so the journal gets the last second's traffic)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if final and await self.poll() is not None:
            self._report()

    async def _run(self) -> None:
        next_report = self._clock() + self._report_every
        while True:
            started = self._clock()
            await self.poll()
            now = self._clock()
            if now >= next_report:
                self._report()
                next_report += self._report_every
                if next_report <= now:  # fell behind (a slow answer): do not burst
                    next_report = now + self._report_every
            await asyncio.sleep(max(0.0, started + self._interval - self._clock()))

    def _report(self) -> None:
        """Hand the counts to the callback, once per fresh read."""
        if self._on_received is None or self.latest is None or not self._unreported:
            return
        self._unreported = False
        self._on_received(self.latest.received())
