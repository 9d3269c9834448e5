"""Who is up: probes each provider's /health over a fresh connection a few times a second.

DOWN = the port refuses; SLOW = answers slower than the provider's normal latency allows;
HUNG = accepts the connection but no answer comes within the probe timeout; UP otherwise.
Changes are reported to the session, which logs and journals them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import aiohttp

from battletui.engine.probes import ProbeResult, probe_health
from battletui.metrics import ProviderHealth
from battletui.processes import cancel_and_wait
from battletui.scenario import ProviderSpec

SLOW_MARGIN = 0.05
"""Seconds above a provider's normal latency (plus jitter) before it counts as SLOW."""


def classify(spec: ProviderSpec, result: ProbeResult) -> ProviderHealth:
    if result.outcome == "refused":
        return "DOWN"
    if result.outcome == "error":
        return "DOWN"
    if result.outcome == "timeout":
        return "HUNG"
    threshold = spec.latency + spec.jitter + max(SLOW_MARGIN, spec.latency)
    return "SLOW" if result.rtt > threshold else "UP"


class HealthMonitor:
    def __init__(
        self,
        targets: Sequence[tuple[ProviderSpec, str]],
        on_change: Callable[[str, ProviderHealth, ProviderHealth, ProbeResult], None],
        *,
        interval: float = 0.25,
        timeout: float = 2.0,
    ) -> None:
        self._targets = list(targets)
        self._on_change = on_change
        self._interval = interval
        self._timeout = timeout
        self.health: dict[str, ProviderHealth] = {spec.id: "UNKNOWN" for spec, _ in targets}
        self.rtt: dict[str, float | None] = {spec.id: None for spec, _ in targets}
        self._slow_streak: dict[str, int] = {spec.id: 0 for spec, _ in targets}
        self._wake: dict[str, asyncio.Event] = {spec.id: asyncio.Event() for spec, _ in targets}
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        for spec, url in self._targets:
            self._tasks.append(
                asyncio.create_task(self._watch(spec, url), name=f"health-{spec.id}")
            )

    def probe_soon(self, provider_id: str) -> None:
        """Probe now instead of at the next tick (after an action changed things)."""
        if provider_id in self._wake:
            self._wake[provider_id].set()

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _watch(self, spec: ProviderSpec, url: str) -> None:
        assert self._http is not None
        wake = self._wake[spec.id]
        while True:
            wake.clear()
            result = await probe_health(self._http, url, timeout=self._timeout)
            self._update(spec, result)
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow
                async with asyncio.timeout(self._interval):  # the cancel that stops us
                    await wake.wait()

    def _update(self, spec: ProviderSpec, result: ProbeResult) -> None:
        self.rtt[spec.id] = result.rtt if result.outcome == "ok" else None
        new = classify(spec, result)
        if new == "SLOW" and result.outcome == "ok":
            self._slow_streak[spec.id] += 1
            if self._slow_streak[spec.id] < 2:  # one slow answer may be a hiccup
                return
        else:
            self._slow_streak[spec.id] = 0
        old = self.health[spec.id]
        if new != old:
            self.health[spec.id] = new
            self._on_change(spec.id, old, new, result)
