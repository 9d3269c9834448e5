"""Failover: try the candidates in order within the request's deadline.

Each attempt takes a breaker permit just before it is sent (states can change while earlier
candidates are being tried) and always settles it: success, failure, or released.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from battletui.gateway.breaker import BreakerState
from battletui.gateway.jsonrpc import NO_UPSTREAM, error_reply, expects_reply, is_batch
from battletui.gateway.outcome import Verdict, format_seconds
from battletui.gateway.pool import UpstreamPool
from battletui.gateway.selection import Selector, tiered
from battletui.gateway.upstream_client import UpstreamClient
from battletui.scenario import GatewaySpec

__all__ = ["Reply", "Router"]

_MIN_ATTEMPT: Final = 0.001
"""Less time than this left in the deadline is not worth an attempt."""


@dataclass(frozen=True)
class Reply:
    """What the gateway sends back to its client."""

    status: int
    body: bytes
    upstream: str | None
    """Who answered; ``None`` when the gateway answered itself."""
    failovers: int
    """Attempts that failed before the answer."""


class Router:
    def __init__(
        self,
        spec: GatewaySpec,
        pool: UpstreamPool,
        selector: Selector,
        client: UpstreamClient,
    ) -> None:
        self._spec = spec
        self._pool = pool
        self._selector = selector
        self._client = client

    async def route(self, body: bytes, request: Any) -> Reply:
        """Forward ``body`` (the client's bytes; ``request`` is it parsed) to one upstream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._spec.timeout
        batch = is_batch(request)
        wants_reply = expects_reply(request)
        breakers = self._pool.breakers
        candidates, skipped = tiered(self._selector.order(), breakers)
        causes = dict.fromkeys(skipped, "breaker open")
        failovers = 0
        for uid in candidates:
            left = deadline - loop.time()
            if left < _MIN_ATTEMPT:
                causes[uid] = "not tried: deadline exceeded"
                continue
            cooldown = self._pool.cooling_down(uid)
            if cooldown > 0:
                causes[uid] = f"rate limited (retry after {format_seconds(cooldown)})"
                continue
            breaker = breakers[uid]
            if not breaker.try_acquire():
                causes[uid] = (
                    "breaker open"
                    if breaker.state is BreakerState.OPEN
                    else "half-open probe in flight"
                )
                continue
            try:
                attempt = await self._client.attempt(
                    self._pool.upstream(uid),
                    body,
                    timeout=min(self._spec.attempt_timeout, left),
                    batch=batch,
                    expects_reply=wants_reply,
                )
            except BaseException:
                breaker.release()
                raise
            self._pool.settle(uid, attempt, traffic=True)
            if attempt.verdict is Verdict.ANSWER:
                return Reply(attempt.status, attempt.body, uid, failovers)
            failovers += 1
            causes[uid] = attempt.reason
        return Reply(503, error_reply(request, NO_UPSTREAM, self._message(causes)), None, failovers)

    def _message(self, causes: dict[str, str]) -> str:
        if not causes:
            return "no upstream available: none configured"
        parts = [f"{uid}: {causes[uid]}" for uid in self._pool.ids if uid in causes]
        return "no upstream available: " + "; ".join(parts)
