"""Background health: probe each upstream and tick the breakers' clocks.

Probes keep latency estimates fresh for providers that get no traffic (``fastest`` sends
everything to one), let a dead provider that nobody routes to still trip its breaker, and
act as the half-open probes that close a breaker once the provider is back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Final

from battletui.gateway.jsonrpc import BLOCK_NUMBER
from battletui.gateway.pool import UpstreamPool
from battletui.gateway.upstream_client import UpstreamClient

__all__ = ["TICK_INTERVAL", "HealthProber", "run_ticker"]

_log = logging.getLogger(__name__)

TICK_INTERVAL: Final = 0.1
"""How often breakers re-check their timers, so HALF-OPEN shows up on time without traffic."""


async def run_ticker(pool: UpstreamPool, interval: float = TICK_INTERVAL) -> None:
    """Poll every breaker and re-judge lag forever (until cancelled): an OPEN breaker no longer
    sets the best head, so who lags may change without a new head being seen."""
    while True:
        for breaker in pool.breakers.values():
            breaker.poll()
        pool.update_lag()
        await asyncio.sleep(interval)


class HealthProber:
    """One probe loop per upstream: ``eth_blockNumber`` every ``interval`` seconds.

    A loop never overlaps itself: a slow probe delays the next one instead of piling up. The
    head each answer names goes to the pool, which judges who is lagging.
    """

    def __init__(
        self,
        pool: UpstreamPool,
        client: UpstreamClient,
        *,
        interval: float,
        timeout: float,
    ) -> None:
        self._pool = pool
        self._client = client
        self._interval = interval
        self._timeout = timeout
        self._ids = itertools.count(1)

    def _body(self) -> bytes:
        probe = {
            "jsonrpc": "2.0",
            "id": f"health-{next(self._ids)}",
            "method": BLOCK_NUMBER,
            "params": [],
        }
        return json.dumps(probe).encode()

    async def probe(self, uid: str) -> bool:
        """Probe ``uid`` once if its breaker and any Retry-After allow; True if sent."""
        breaker = self._pool.breakers[uid]
        if self._pool.rate_limited_for(uid) > 0 or not breaker.try_acquire():
            return False
        try:
            attempt = await self._client.attempt(
                self._pool.upstream(uid), self._body(), timeout=self._timeout
            )
        except BaseException:
            breaker.release()
            raise
        self._pool.settle(uid, attempt, traffic=False, method=BLOCK_NUMBER)
        return True

    async def run(self) -> None:
        """Probe all upstreams forever (until cancelled)."""
        async with asyncio.TaskGroup() as group:
            for uid in self._pool.ids:
                group.create_task(self._loop(uid), name=f"health-{uid}")

    async def _loop(self, uid: str) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                await self.probe(uid)
            except Exception:
                # A bug in one probe must not silence health checking for good.
                _log.exception("health probe of %s failed", uid)
            due += self._interval
            now = loop.time()
            if due < now:  # fell behind (slow probe): keep the rhythm, skip the backlog
                due = now
            await asyncio.sleep(due - now)
