"""``GET /truth`` (WebSocket, behind the lab's token): what a replica of the chain needs.

The chain is a pure function of the seed and the clock, except for what happens to it: reorgs
and the transactions users send. A replica (the engine's and each load worker's answer
checker, ``workload/truth.py``) builds the same chain from the scenario and this feed:

* first ``{"type": "hello", "origin", "first_block", "genesis_timestamp", "forks": [[fork,
  at], ...], "transactions": [[raw hex, block], ...]}``: where the chain started (a clock
  time on the machine's monotonic clock, shared by every process) and its history so far;
* then, as they happen, ``{"type": "fork", "fork", "at"}`` and ``{"type": "transaction",
  "raw", "block", "at"}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Final

from aiohttp import WSCloseCode, WSMsgType, web

from battletui.chain import MockChain, Replaced
from battletui.chain.hexutil import data
from battletui.chain.transactions import Transaction

QUEUE_LIMIT: Final = 10_000
"""Events waiting for one replica; one that falls that far behind is closed (1008)."""
CLOSE_GRACE: Final = 2.0
"""Seconds the stopping lab gives its replicas to answer its closing handshake."""


class TruthFeeds:
    """The open feeds, which the lab ends itself (1001) before its server stops.

    aiohttp stops reading its connections as soon as its shutdown begins, so a replica's own
    closing handshake sent after that is never answered: the replica waited out its 10 s
    close timeout and the lab waited for the replica, both outliving a SIGKILLed engine by
    10 s. Closed from this side first, while the lab still reads, the handshake completes."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()
        self._open: set[asyncio.Future[None]] = set()

    async def close(self) -> None:
        """Ask every feed to close and wait (bounded) until each has."""
        self.closing.set()
        if self._open:
            await asyncio.wait(set(self._open), timeout=CLOSE_GRACE)

    def opened(self) -> asyncio.Future[None]:
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._open.add(ended)
        ended.add_done_callback(self._open.discard)
        return ended


def hello(chain: MockChain) -> dict[str, object]:
    return {
        "type": "hello",
        "origin": chain.origin,
        "first_block": chain.first_block,
        "genesis_timestamp": chain.genesis_timestamp,
        "forks": [[fork, at] for fork, at in chain.fork_times],
        "transactions": [[data(raw), n] for raw, n in chain.ledger.user_history()],
        "now": time.monotonic(),
    }


async def truth_feed(
    chain: MockChain, request: web.Request, feeds: TruthFeeds
) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=None, timeout=CLOSE_GRACE)
    ended = feeds.opened()
    try:
        await ws.prepare(request)
        await _serve_feed(chain, ws, feeds.closing)
    finally:
        ended.set_result(None)
    return ws


async def _serve_feed(chain: MockChain, ws: web.WebSocketResponse, closing: asyncio.Event) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    overflow = asyncio.Event()

    def push(event: dict[str, object]) -> None:
        if queue.qsize() >= QUEUE_LIMIT:
            overflow.set()
            return
        queue.put_nowait(json.dumps(event))

    def on_reorg(replaced: Replaced) -> None:
        if replaced:
            fork, at = chain.fork_times[-1]
            push({"type": "fork", "fork": fork, "at": at})

    def on_transaction(tx: Transaction) -> None:
        push(
            {
                "type": "transaction",
                "raw": data(tx.raw),
                "block": chain.ledger.included_in(tx.hash),
                "at": time.monotonic(),
            }
        )

    stops = (chain.on_reorg(on_reorg), chain.ledger.on_transaction(on_transaction))
    await ws.send_str(json.dumps(hello(chain)))

    async def drain_reads() -> None:
        async for message in ws:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break

    reader = asyncio.create_task(drain_reads())
    stopping = asyncio.create_task(closing.wait())
    try:
        while not reader.done() and not overflow.is_set() and not closing.is_set():
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, reader, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                await ws.send_str(getter.result())
            else:
                getter.cancel()
        if overflow.is_set():
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"replica too slow")
        elif closing.is_set():
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"lab stopping")
    finally:
        for stop in stops:
            stop()
        reader.cancel()
        stopping.cancel()
