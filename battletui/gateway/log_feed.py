"""``eth_subscribe ["logs", {address, topics}]`` through the gateway, built on its head feed.

A node's ``logs`` subscription dies with the node, so the gateway does not relay one: for
every head of its resilient ``newHeads`` feed (each block once, in order, gaps backfilled,
whichever upstream serves it) it fetches that block's logs with ``eth_getLogs {blockHash}``
through the router (failover included) and sends each client the ones its filter matches,
one notification per log, in block order. When a reorg replaces a block whose logs were
sent, those logs are sent again with ``removed: true`` before the new block's, as geth does.
A block whose logs cannot be had from any upstream is skipped (and logged), not waited on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from battletui.gateway.head_sequencer import Head
from battletui.processes import cancel_and_wait
from battletui.wire import loads as fast_loads

_log = logging.getLogger(__name__)

QUEUE_LIMIT: Final = 256
"""Heads waiting for their logs; beyond that the oldest are skipped (a stalled upstream)."""
REMEMBER: Final = 128
"""Blocks whose sent logs are kept, to withdraw them if a reorg replaces the block."""
ATTEMPTS: Final = 3

Forward = Callable[[bytes, Any], Awaitable[tuple[int, bytes]]]
Send = Callable[[str, dict[str, Any]], None]
"""Deliver one log (as JSON object) to a subscription id."""

_HEX: Final = frozenset("0123456789abcdef")


class BadCriteria(ValueError):
    """A ``logs`` filter the gateway cannot read."""


def _hex(value: object, digits: int) -> str:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise BadCriteria("expected 0x-prefixed hex")
    body = value[2:].lower()
    if len(body) != digits or not set(body) <= _HEX:
        raise BadCriteria(f"expected {digits} hex digits")
    return "0x" + body


@dataclass(frozen=True)
class LogCriteria:
    addresses: frozenset[str] | None
    topics: tuple[frozenset[str] | None, ...]

    @classmethod
    def parse(cls, value: object) -> LogCriteria:
        if value is None:
            return cls(None, ())
        if not isinstance(value, dict):
            raise BadCriteria("filter criteria must be an object")
        raw = value.get("address")
        items = [] if raw is None else raw if isinstance(raw, list) else [raw]
        addresses = frozenset(_hex(a, 40) for a in items) or None
        raw_topics = value.get("topics") or []
        if not isinstance(raw_topics, list) or len(raw_topics) > 4:
            raise BadCriteria("topics must be an array of at most 4 positions")
        topics: list[frozenset[str] | None] = []
        for position in raw_topics:
            options = position if isinstance(position, list) else [position]
            wanted = frozenset(_hex(t, 64) for t in options if t is not None)
            topics.append(None if not wanted or None in options else wanted)
        return cls(addresses, tuple(topics))

    def matches(self, log: dict[str, Any]) -> bool:
        address = str(log.get("address", "")).lower()
        if self.addresses is not None and address not in self.addresses:
            return False
        topics = [str(t).lower() for t in log.get("topics") or []]
        if len(self.topics) > len(topics):
            return False
        return all(w is None or topics[i] in w for i, w in enumerate(self.topics))


class LogFeed:
    """The gateway's ``logs`` subscriptions and the worker that fetches each head's logs."""

    def __init__(self, forward: Forward, send: Send) -> None:
        self._forward = forward
        self._send = send
        self._subs: dict[str, LogCriteria] = {}
        self._heads: asyncio.Queue[Head] = asyncio.Queue()
        self._sent: OrderedDict[int, tuple[str, list[dict[str, Any]]]] = OrderedDict()
        self._worker: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        return len(self._subs)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._subs)

    def add(self, sub_id: str, criteria: LogCriteria) -> None:
        self._subs[sub_id] = criteria
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="gateway-log-feed")

    def remove(self, sub_id: str) -> None:
        self._subs.pop(sub_id, None)

    def on_head(self, head: Head) -> None:
        if not self._subs:
            return
        if self._heads.qsize() >= QUEUE_LIMIT:
            skipped = self._heads.get_nowait()
            _log.warning("logs of block %d skipped: the log feed is behind", skipped.number)
        self._heads.put_nowait(head)

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        await cancel_and_wait(worker)

    async def _run(self) -> None:
        while True:
            head = await self._heads.get()
            logs = await self._fetch(head)
            if logs is None:
                continue
            before = self._sent.pop(head.number, None)
            if before is not None and before[0] != head.hash.lower():
                self._fan_out([{**log, "removed": True} for log in before[1]])
            self._fan_out(logs)
            self._sent[head.number] = (head.hash.lower(), logs)
            while len(self._sent) > REMEMBER:
                self._sent.popitem(last=False)

    def _fan_out(self, logs: list[dict[str, Any]]) -> None:
        for log in logs:
            for sub_id, criteria in list(self._subs.items()):
                if criteria.matches(log):
                    self._send(sub_id, log)

    async def _fetch(self, head: Head) -> list[dict[str, Any]] | None:
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [{"blockHash": head.hash}],
        }
        body = json.dumps(request).encode()
        for attempt in range(ATTEMPTS):
            _, reply = await self._forward(body, request)
            try:
                answer = fast_loads(reply)
            except ValueError:
                answer = None
            result = answer.get("result") if isinstance(answer, dict) else None
            if isinstance(result, list):
                return [log for log in result if isinstance(log, dict)]
            await asyncio.sleep(0.05 * (attempt + 1))
        _log.warning(
            "logs of block %d (%s) unavailable from every upstream", head.number, head.hash
        )
        return None
