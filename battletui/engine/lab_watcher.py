"""``LabWatcher``: the engine's running picture of the lab, read over its control endpoint.

Polls ``GET /state`` a few times a second and keeps the latest faults and received counts
of every provider for the live snapshot (the screen reads them from here, never from the
providers' objects). Once a second it hands the cumulative received counts to a callback,
which the session journals; the report turns consecutive entries into per-second traffic.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

from battletui.engine.lab_client import LabClient, LabRequestError, LabState, Received
from battletui.processes import cancel_and_wait
from battletui.protocol.faults import FaultState

POLL_INTERVAL: Final = 0.5
"""Seconds between reads of the lab's state. It runs on the engine's measuring loop, so it is
kept sparse; the session reads again at once after every action."""
REPORT_EVERY: Final = 1.0
SHARE_WINDOW: Final = 2.0
"""Seconds over which the live received share is judged, so a shift shows fast."""

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
        self._history: deque[tuple[float, dict[str, int]]] = deque(maxlen=64)

    # -- reading ---------------------------------------------------------------------------

    def faults(self, provider_id: str) -> FaultState:
        """The provider's faults as last read (no fault before the first read)."""
        state = self.latest.providers.get(provider_id) if self.latest else None
        return state.faults if state is not None else FaultState()

    def received(self, provider_id: str) -> Received:
        """What the provider received so far, as last read."""
        state = self.latest.providers.get(provider_id) if self.latest else None
        return state.received if state is not None else Received()

    def received_share(self, window: float = SHARE_WINDOW) -> dict[str, float]:
        """Each provider's share of what all of them received over the last ``window``
        seconds (empty when nothing arrived): the traffic share measured at the providers."""
        if len(self._history) < 2:
            return {}
        newest_at, newest = self._history[-1]
        oldest = self._history[0][1]
        for at, counts in self._history:
            if at >= newest_at - window:
                break
            oldest = counts
        deltas = {uid: max(0, n - oldest.get(uid, 0)) for uid, n in newest.items()}
        total = sum(deltas.values())
        return {uid: d / total for uid, d in deltas.items()} if total else {}

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
        self._history.append(
            (self._clock(), {uid: p.received.requests for uid, p in state.providers.items()})
        )
        return state

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lab-watcher")

    async def stop(self, *, final: bool = True) -> None:
        """Stop polling; with ``final``, read once more and report those counts (call it
        before the lab stops, so the journal gets the last second's traffic)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
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
