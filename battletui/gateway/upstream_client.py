"""Sending one JSON-RPC body to one upstream over the shared keep-alive pool.

The only place the gateway touches the network on the upstream side: a production gateway
knows its providers by URL and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

import aiohttp

from battletui.gateway.outcome import (
    DEFAULT_RETRY_AFTER,
    Attempt,
    Verdict,
    describe_error,
    format_seconds,
    judge_response,
    parse_retry_after,
)

__all__ = ["Upstream", "UpstreamClient", "new_session"]

_HEADERS: Final = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True)
class Upstream:
    """A provider as the gateway knows it: a name and an HTTP JSON-RPC endpoint."""

    id: str
    url: str


def new_session() -> aiohttp.ClientSession:
    """One pooled session for all upstreams; deadlines are enforced per attempt instead."""
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=512, keepalive_timeout=30.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )


class UpstreamClient:
    """Posts bodies as-is and turns whatever happens into an :class:`Attempt`."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

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
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    upstream.url, data=body, headers=_HEADERS, allow_redirects=False
                ) as response:
                    payload = await response.read()
                    status = response.status
                    retry_after_header = response.headers.get("Retry-After")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Attempt(
                Verdict.FAILURE,
                0,
                b"",
                describe_error(exc, timeout),
                time.perf_counter() - started,
            )
        latency = time.perf_counter() - started
        verdict, reason, answer = judge_response(
            status, payload, batch=batch, expects_reply=expects_reply
        )
        retry_after = None
        if verdict is Verdict.RATE_LIMITED:
            parsed = parse_retry_after(retry_after_header)
            retry_after = DEFAULT_RETRY_AFTER if parsed is None else parsed
            reason = f"rate-limited (HTTP 429, retry after {format_seconds(retry_after)})"
        return Attempt(verdict, status, payload, reason, latency, retry_after, answer)
