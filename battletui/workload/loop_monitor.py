"""The event loop watching itself: how late it wakes, and how much CPU the process burns.

A load generator on a busy loop sends late; its slip says so per request, and this monitor
says why. It wakes every ``PERIOD`` seconds (20 cheap wake-ups a second) and records how
late it woke and the process CPU time spent since its last wake-up (all threads, so a fully
used core reads 100 %).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from battletui.processes import cancel_and_wait

PERIOD = 0.05


class LoopSink(Protocol):
    def loop_sample(self, lag: float, cpu_seconds: float, wall_seconds: float) -> None: ...


class LoopMonitor:
    def __init__(self, sink: LoopSink, *, period: float = PERIOD) -> None:
        self._sink = sink
        self._period = period
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-monitor")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wall, cpu = loop.time(), time.process_time()
        while True:
            due = loop.time() + self._period
            await asyncio.sleep(self._period)
            now, cpu_now = loop.time(), time.process_time()
            self._sink.loop_sample(max(0.0, now - due), cpu_now - cpu, now - wall)
            wall, cpu = now, cpu_now
