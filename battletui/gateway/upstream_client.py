"""Sending one JSON-RPC body to one upstream over the shared keep-alive pool.

The only place the gateway touches the network on the upstream side: a production gateway
knows its providers by URL and nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import aiohttp

from battletui.gateway.outcome import (
    DEFAULT_RETRY_AFTER,
    Attempt,
    Verdict,
    judge_response,
    parse_retry_after,
)
from battletui.protocol.errors import describe_error, format_seconds
from battletui.wire import BadResponse, Disconnected, HttpPool

__all__ = ["POOL_SIZE", "Upstream", "UpstreamClient", "new_session"]

POOL_SIZE: Final = 512
"""Keep-alive connections per upstream at most; more concurrent attempts wait for one
(within their own deadline), so an overloaded provider is not flooded with new ones."""


@dataclass(frozen=True)
class Upstream:
    """A provider as the gateway knows it: a name and an HTTP JSON-RPC endpoint."""

    id: str
    url: str


def _describe(exc: BaseException, timeout: float) -> str:
    """Why an attempt got no answer: the wire words its own disconnects and garbled answers
    ("connection reset", "truncated response"); anything else is worded as everywhere."""
    if isinstance(exc, Disconnected | BadResponse):
        return str(exc)
    return describe_error(exc, timeout)


def new_session() -> aiohttp.ClientSession:
    """The session for upstream WebSocket subscriptions (HTTP goes through ``UpstreamClient``)."""
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=512, keepalive_timeout=30.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )


class UpstreamClient:
    """Posts bodies as-is, one bounded keep-alive pool per upstream (``battletui.wire``: a
    fifth of aiohttp's client cost per request), and turns whatever happens into an
    :class:`Attempt`."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self._pool_size = pool_size
        self._pools: dict[str, HttpPool] = {}

    def _pool(self, upstream: Upstream) -> HttpPool:
        pool = self._pools.get(upstream.url)
        if pool is None:
            pool = self._pools[upstream.url] = HttpPool(upstream.url, size=self._pool_size)
        return pool

    async def attempt(
        self,
        upstream: Upstream,
        body: bytes,
        *,
        timeout: float,
        batch: bool = False,
        expects_reply: bool = True,
    ) -> Attempt:
        """One attempt, cut at ``timeout`` seconds. Cancellation propagates to the caller."""
        pool = self._pool(upstream)
        started = time.perf_counter()
        try:
            response = await pool.post(body, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            return Attempt(
                Verdict.FAILURE,
                0,
                b"",
                _describe(exc, timeout),
                time.perf_counter() - started,
            )
        latency = time.perf_counter() - started
        status = response.status
        verdict, reason, answer = judge_response(
            status, response.body, batch=batch, expects_reply=expects_reply
        )
        retry_after = None
        if verdict is Verdict.RATE_LIMITED:
            parsed = parse_retry_after(response.headers.get("retry-after"))
            retry_after = DEFAULT_RETRY_AFTER if parsed is None else parsed
            reason = f"rate-limited (HTTP 429, retry after {format_seconds(retry_after)})"
        return Attempt(verdict, status, response.body, reason, latency, retry_after, answer)

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
