"""Fetching missed heads over HTTP: ``eth_getBlockByNumber [n, false]`` in small batches.

Requests go through the router (its selection, breakers and failover), so any healthy
provider may answer. What that did not bring (the router had nobody to offer because every
breaker is open, or the provider that answered lags and has no such block yet) is asked of the
upstream serving the subscription directly: it just sent a later head, so it has these blocks.
Failed or empty answers are retried a few times within a bounded time; what still cannot be
fetched stays missing (the sequencer reports it as a gap, never invents it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from battletui.gateway.head_sequencer import Head, header_from_block

__all__ = ["BATCH_SIZE", "RETRY_DELAYS", "BackfillResult", "Post", "fetch_heads"]

_log = logging.getLogger(__name__)

BATCH_SIZE: Final = 32
"""Blocks asked for in one JSON-RPC batch."""
RETRY_DELAYS: Final = (0.1, 0.25)
"""Pauses before the second and third attempt at what is still missing."""

Post = Callable[[bytes, Any], Awaitable[tuple[int, bytes, str | None]]]
"""Send a body (bytes and parsed) somewhere: (HTTP status, body, who answered or None)."""


@dataclass(frozen=True)
class BackfillResult:
    heads: dict[int, Head]
    provider: str | None
    """Who supplied heads (the last one, when several did), for the event log."""


def _batch(numbers: Sequence[int]) -> tuple[bytes, list[dict[str, Any]]]:
    request = [
        {
            "jsonrpc": "2.0",
            "id": number,
            "method": "eth_getBlockByNumber",
            "params": [hex(number), False],
        }
        for number in numbers
    ]
    return json.dumps(request).encode(), request


def _parse(status: int, body: bytes) -> dict[int, Head]:
    if status != 200 or not body:
        return {}
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    items = answer if isinstance(answer, list) else [answer]
    heads: dict[int, Head] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        number = item.get("id")
        head = header_from_block(item.get("result"))
        if isinstance(number, int) and head is not None and head.number == number:
            heads[number] = head
    return heads


async def _round(
    numbers: list[int], route: Post, direct: Post | None
) -> tuple[dict[int, Head], str | None]:
    chunks = [numbers[i : i + BATCH_SIZE] for i in range(0, len(numbers), BATCH_SIZE)]

    async def one(chunk: list[int]) -> tuple[dict[int, Head], str | None]:
        body, parsed = _batch(chunk)
        status, answer, who = await route(body, parsed)
        heads = _parse(status, answer)
        provider = who if heads else None
        rest = [n for n in chunk if n not in heads]
        if rest and direct is not None:
            body, parsed = _batch(rest)
            status, answer, who = await direct(body, parsed)
            more = _parse(status, answer)
            heads.update(more)
            provider = who if more else provider
        return heads, provider

    results = await asyncio.gather(*(one(chunk) for chunk in chunks))
    heads: dict[int, Head] = {}
    provider: str | None = None
    for got, who in results:
        heads.update(got)
        provider = who or provider
    return heads, provider


async def fetch_heads(
    numbers: range,
    route: Post,
    *,
    direct: Post | None = None,
    budget: float,
    delays: Sequence[float] = RETRY_DELAYS,
) -> BackfillResult:
    """Fetch ``numbers``; retries what is missing after each pause in ``delays``.

    Never takes longer than ``budget`` seconds; returns whatever it got by then.
    """
    heads: dict[int, Head] = {}
    provider: str | None = None
    try:
        async with asyncio.timeout(budget):
            for pause in (0.0, *delays):
                missing = [n for n in numbers if n not in heads]
                if not missing:
                    break
                if pause:
                    await asyncio.sleep(pause)
                got, who = await _round(missing, route, direct)
                heads.update(got)
                provider = who or provider
    except TimeoutError:
        _log.debug("backfill of %s cut at %.1fs", numbers, budget)
    return BackfillResult(heads, provider)
