"""The gateway's ``GET /events``: its own events, as they happen, over a WebSocket.

Breaker transitions, failovers, the WebSocket feed's switches and backfills and the pool's
health notes go out as JSON messages (format: :mod:`battletui.protocol.event_format`) to every
connected client. It has to stay cheap while the gateway is being battered:

* each event is serialised once, for all clients;
* failovers (hundreds a second when a provider dies under load) are coalesced into one
  message per :data:`FAILOVER_FLUSH`, at most :data:`FAILOVER_BATCH` itemised;
* memory is bounded: each client has a bounded send queue, and a client that falls that far
  behind is cut off with close code 1008 and counted (``/health`` ``events.dropped_clients``)
  instead of growing the gateway; the last :data:`REPLAY_KEEP` messages (at most
  :data:`REPLAY_BYTES`) are kept, so an observer that connects late or reconnects
  (``/events?since=N``) misses nothing still kept, and learns how much it did miss.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from battletui.gateway.ws_endpoint import CLOSE_TIMEOUT, ClientConnection
from battletui.protocol.event_format import (
    BREAKER,
    FAILOVERS,
    GATEWAY,
    HELLO,
    WS_FEED,
    encode_failover,
    encode_gateway,
    encode_transition,
    encode_ws_feed,
)
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent

__all__ = [
    "FAILOVER_BATCH",
    "FAILOVER_FLUSH",
    "QUEUE_LIMIT",
    "REPLAY_BYTES",
    "REPLAY_KEEP",
    "EventStream",
]

QUEUE_LIMIT: Final = 1024
"""Messages queued for one client before it is cut off as too slow."""
FAILOVER_FLUSH: Final = 0.1
"""Seconds of failovers coalesced into one ``failovers`` message."""
FAILOVER_BATCH: Final = 1000
"""Failovers itemised per message; more are only counted (``omitted``)."""
REPLAY_KEEP: Final = 256
"""Recent messages kept for clients that connect late or reconnect."""
REPLAY_BYTES: Final = 1024 * 1024
"""...and at most this much text of them."""
_MAX_INCOMING: Final = 4096
"""Clients have nothing to say on this socket; anything large is refused."""


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class EventStream:
    """Fan-out of the gateway's events to ``/events`` clients.

    The listener methods (:meth:`transition`, :meth:`failover`, :meth:`ws_feed`,
    :meth:`gateway_event`) are plain callbacks the gateway calls as things happen; ``clock``
    stamps the messages that have no time of their own (``hello``, ``failovers``).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        queue_limit: int = QUEUE_LIMIT,
        flush_after: float = FAILOVER_FLUSH,
        batch_limit: int = FAILOVER_BATCH,
        keep: int = REPLAY_KEEP,
        keep_bytes: int = REPLAY_BYTES,
    ) -> None:
        self._clock = clock
        self._queue_limit = max(2, queue_limit)
        self._flush_after = flush_after
        self._batch_limit = batch_limit
        self._keep = keep
        self._keep_bytes = keep_bytes
        self._seq = 0
        self._clients: set[ClientConnection] = set()
        self._dropped = 0
        self._kept: deque[tuple[int, str]] = deque()
        self._kept_bytes = 0
        self._pending: list[FailoverEvent] = []
        self._omitted = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._closing = False

    # -- what /health says about it ------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The last sequence number sent."""
        return self._seq

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def dropped_clients(self) -> int:
        """Clients cut off because their send queue overflowed."""
        return self._dropped

    def status(self) -> dict[str, int]:
        return {"seq": self._seq, "clients": len(self._clients), "dropped_clients": self._dropped}

    # -- listeners ---------------------------------------------------------------------------

    def transition(self, transition: BreakerTransition, open_for: float | None = None) -> None:
        self._send(BREAKER, transition.at, encode_transition(transition, open_for))

    def ws_feed(self, event: WsFeedEvent) -> None:
        self._send(WS_FEED, event.at, encode_ws_feed(event))

    def gateway_event(self, event: GatewayEvent) -> None:
        self._send(GATEWAY, event.at, encode_gateway(event))

    def failover(self, event: FailoverEvent) -> None:
        """Queue ``event`` for the next ``failovers`` message (sent within ``flush_after``)."""
        if len(self._pending) < self._batch_limit:
            self._pending.append(event)
        else:
            self._omitted += 1
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test driving the router by hand): send at once
            self.flush()
            return
        self._flush_handle = loop.call_later(self._flush_after, self.flush)

    def flush(self) -> None:
        """Send the failovers gathered so far, if any."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending and not self._omitted:
            return
        events, self._pending = self._pending, []
        omitted, self._omitted = self._omitted, 0
        body = {"omitted": omitted, "events": [encode_failover(e) for e in events]}
        self._send(FAILOVERS, self._clock(), body)

    # -- sending -----------------------------------------------------------------------------

    def _send(self, kind: str, at: float, body: dict[str, Any]) -> None:
        self._seq += 1
        text = _dumps({"type": kind, "seq": self._seq, "at": round(at, 6), **body})
        self._remember(self._seq, text)
        for client in list(self._clients):
            if not client.send(text):
                self._cut(client)

    def _remember(self, seq: int, text: str) -> None:
        self._kept.append((seq, text))
        self._kept_bytes += len(text)
        while self._kept and (len(self._kept) > self._keep or self._kept_bytes > self._keep_bytes):
            _, old = self._kept.popleft()
            self._kept_bytes -= len(old)

    def _cut(self, client: ClientConnection) -> None:
        """``client`` overflowed (it is being closed with 1008): no more events for it."""
        if client in self._clients:
            self._clients.discard(client)
            self._dropped += 1

    def _welcome(self, client: ClientConnection, since: int | None) -> None:
        """``hello``, then what was kept after ``since``: all queued before any live event."""
        replay: list[str] = []
        missed = 0
        if since is not None and since < self._seq:
            replay = [text for seq, text in self._kept if seq > since]
            room = self._queue_limit - 1  # hello takes one place
            if len(replay) > room:
                replay = replay[len(replay) - room :]
            missed = self._seq - since - len(replay)
        hello = {
            "type": HELLO,
            "seq": self._seq,
            "at": round(self._clock(), 6),
            "pid": os.getpid(),
            "since": since,
            "missed": missed,
        }
        client.send(_dumps(hello))
        for text in replay:
            client.send(text)

    # -- the socket --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /events`` (WebSocket); optional ``?since=N`` replays kept events after N."""
        ws = web.WebSocketResponse(
            timeout=CLOSE_TIMEOUT, compress=False, max_msg_size=_MAX_INCOMING
        )
        since: int | None = None
        if "since" in request.query:
            try:
                since = int(request.query["since"])
            except ValueError:
                since = -1
            if since < 0:
                return web.Response(status=400, text="since: expected a whole number >= 0\n")
        if not ws.can_prepare(request).ok:
            return web.Response(status=405, text="open a WebSocket here to follow the events\n")
        if self._closing:
            raise web.HTTPServiceUnavailable(text="the gateway is shutting down\n")
        await ws.prepare(request)
        transport = request.transport
        client = ClientConnection(
            ws,
            queue_limit=self._queue_limit,
            abort=None if transport is None else transport.abort,
        )
        client.start()
        self._welcome(client, since)  # no await from here to add(): no event can slip between
        self._clients.add(client)
        try:
            async for _ in ws:  # nothing to read; this ends when the socket does
                if client.overflowed:
                    break
        finally:
            self._clients.discard(client)
            await client.shutdown()
            await client.close(1000, b"")
        return ws

    def open(self) -> None:
        """Accept clients (again, after :meth:`close`)."""
        self._closing = False

    async def close(self) -> None:
        """Send what is pending, let clients read it (briefly), then close them with 1001."""
        self._closing = True
        self.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_TIMEOUT
        while loop.time() < deadline and any(
            not client.queue.empty() for client in self._clients if not client.overflowed
        ):
            await asyncio.sleep(0.01)
        clients = list(self._clients)
        await asyncio.gather(*(c.close(1001, b"gateway shutting down") for c in clients))
        deadline = loop.time() + CLOSE_TIMEOUT
        while self._clients and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for client in list(self._clients):  # closed but not reading: cut off
            client.abort()
