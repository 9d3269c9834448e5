"""Failover: try the candidates in order within the request's deadline.

Each attempt takes a breaker permit just before it is sent (states can change while earlier
candidates are being tried) and always settles it: success, failure, or released. An attempt
is cut at ``attempt_timeout`` or at what is left of the request's ``timeout``, whichever comes
first; a hung provider therefore costs one attempt timeout, counts as a failure, and the
request moves on. Rate-limited providers are tried only when nobody else is available (see
:func:`~battletui.gateway.selection.tiered`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from battletui.gateway.filter_pins import NOT_FOUND, FilterPins
from battletui.gateway.jsonrpc import NO_UPSTREAM, error_reply, expects_reply, is_batch
from battletui.gateway.listeners import notify
from battletui.gateway.outcome import Verdict
from battletui.gateway.pool import UpstreamPool
from battletui.gateway.selection import Selector, tiered
from battletui.gateway.upstream_client import UpstreamClient
from battletui.protocol.events import BreakerState, FailoverEvent
from battletui.scenario import GatewaySpec

__all__ = ["BATCH", "Reply", "Router", "method_of"]

_MIN_ATTEMPT: Final = 0.001
"""Less time than this left in the deadline is not worth an attempt."""
BATCH: Final = "batch"
"""The method name batches are measured and reported under."""


@dataclass(frozen=True)
class Reply:
    """What the gateway sends back to its client."""

    status: int
    body: bytes
    upstream: str | None
    """Who answered; ``None`` when the gateway answered itself."""
    failovers: int
    """Attempts that failed before the answer."""
    cost: float = 0.0
    """Seconds spent on those failed attempts (the whole request when none answered)."""
    failed: tuple[tuple[str, str], ...] = ()
    """(provider, reason) of each failed attempt, in order."""


def method_of(request: Any) -> str:
    """``eth_blockNumber``, ``batch``, or empty for a request that names no method."""
    if is_batch(request):
        return BATCH
    method = request.get("method") if isinstance(request, dict) else None
    return method if isinstance(method, str) else ""


class Router:
    def __init__(
        self,
        spec: GatewaySpec,
        pool: UpstreamPool,
        selector: Selector,
        client: UpstreamClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_failover: Callable[[FailoverEvent], None] | None = None,
    ) -> None:
        self._spec = spec
        self._pool = pool
        self._selector = selector
        self._client = client
        self._clock = clock
        self._on_failover = on_failover
        self.filters = FilterPins(clock)
        """Which upstream made each filter (its calls go there only)."""

    def _order(self, method: str, request: Any) -> tuple[list[str], dict[str, str], bool]:
        """Candidates in order, the skipped ones with why, and whether this is a pinned
        filter call (one candidate, no failover)."""
        pinned = self.filters.upstream_for(request)
        if pinned is not None and pinned in self._pool.ids:
            return [pinned], {}, True
        tiers = tiered(self._selector.order(method or None), self._pool)
        return list(tiers.candidates), dict(tiers.skipped), False

    async def route(self, body: bytes, request: Any, *, internal: bool = False) -> Reply:
        """Forward ``body`` (the client's bytes; ``request`` is it parsed) to one upstream.

        ``internal``: the gateway's own request (a backfill), not a client's: it counts for the
        breakers and latency estimates but not as served traffic, and reports no failover.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self._spec.timeout
        batch = is_batch(request)
        wants_reply = expects_reply(request)
        method = method_of(request)
        breakers = self._pool.breakers
        candidates, causes, pinned = self._order(method, request)
        failed: list[tuple[str, str]] = []
        for uid in candidates:
            left = deadline - loop.time()
            if left < _MIN_ATTEMPT:
                causes[uid] = "not tried: deadline exceeded"
                continue
            breaker = breakers[uid]
            if not breaker.try_acquire():
                causes[uid] = (
                    f"breaker open ({breaker.open_remaining:.1f}s left)"
                    if breaker.state is BreakerState.OPEN
                    else "half-open probe in flight"
                )
                continue
            attempt_started = loop.time()
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
            self._pool.settle(uid, attempt, traffic=not internal, method=method or None)
            if attempt.verdict is Verdict.ANSWER:
                self.filters.learn(request, attempt.answer, uid)
                cost = attempt_started - started
                if not internal:
                    self._report(method, failed, uid, cost)
                return Reply(attempt.status, attempt.body, uid, len(failed), cost, tuple(failed))
            failed.append((uid, attempt.reason))
            causes[uid] = attempt.reason
        cost = loop.time() - started
        if not internal:
            self._report(method, failed, None, cost)
        if pinned:  # the filter is gone with its upstream: the client makes a new one
            reply = error_reply(request, -32000, NOT_FOUND)
            return Reply(200, reply, None, len(failed), cost, tuple(failed))
        message = self._message(causes)
        return Reply(
            503, error_reply(request, NO_UPSTREAM, message), None, len(failed), cost, tuple(failed)
        )

    def _report(
        self, method: str, failed: list[tuple[str, str]], served_by: str | None, cost: float
    ) -> None:
        if failed:
            event = FailoverEvent(self._clock(), method, tuple(failed), served_by, cost)
            notify(self._on_failover, event)

    def _message(self, causes: dict[str, str]) -> str:
        if not causes:
            return "no upstream available: none configured"
        parts = [f"{uid}: {causes[uid]}" for uid in self._pool.ids if uid in causes]
        return "no upstream available: " + "; ".join(parts)
