"""JSON-RPC over WebSocket on ``GET /``: every HTTP method, batches, and ``newHeads``.

Each connection has one reader (the aiohttp handler) and one writer (a send task draining a
bounded FIFO). Answers and notifications alike are queued with the instant they may leave:
their arrival plus one draw of the provider's latency (spec plus degrade). The writer sends
each at ``max(that instant, when the previous message left)``, so a degraded provider delays
messages by the added latency without ever reordering them, and a latency longer than the
block time does not pile up (the delays overlap, as on a slow link).

Subscriptions (geth's ``eth`` namespace):

* ``eth_subscribe ["newHeads"]`` answers a subscription id; the next block after that is the
  first notification. ``["logs", {address, topics}]`` sends each matching log of each new
  block (``removed: true`` for those a reorg withdrew); ``["newPendingTransactions"]`` each
  transaction hash the pool accepts (``true`` as a second argument: the whole transaction).
  Any other kind (``syncing``, ...) fails with -32602 ``no "KIND" subscription in eth
  namespace``; missing or non-string params and extra arguments fail with -32602 too.
* ``eth_unsubscribe [id]`` answers true when this connection had it, else false.

Every frame read is counted as received (``received``) before any fault touches it.

Faults: every answer is delayed by the modelled latency. An answer to a frame calling a
method degraded on its own (a batch: its slowest member) first waits out that delay and then
joins the queue, so it does not hold up the answers and heads behind it; such answers may
overtake earlier ones (JSON-RPC answers are matched by id), they count against the queue
bound while they wait. The spec's ``error_rate`` and the ``errors`` fault are drawn once
per frame: the answer becomes error object(s) with no HTTP status, one per answer the frame
would have had, with its id (-32603 "internal error (injected by battletui)" for
``error_rate``; -32005 with Infura's data for ``rate-limit``, -32603 "upstream unavailable
(injected 503)" for ``server-error``, the chosen code for ``rpc-error``); notifications are
not affected. While the provider hangs, new handshakes are held (``Gate.enter``) and nothing is
sent on open connections: frames are still read and answered into the queue (which bounds
them by back-pressure as usual) and everything queued leaves, in order, when the hang ends.
aiohttp still answers pings while hung.

The queue is bounded by ``queue_limit`` messages. Requests get back-pressure: while the
queue is full the connection stops reading frames. Notifications cannot wait, so a
notification that finds the queue full (a subscriber that stopped reading) drops the
connection's subscriptions at once and closes it with 1008.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from aiohttp import WSCloseCode, WSMsgType, web

from battletui.protocol.jsonrpc import INVALID_PARAMS
from battletui.providers.gate import Gate
from battletui.providers.get_logs import parse_addresses, parse_topics
from battletui.providers.head_feed import HeadFeed, LogCriteria
from battletui.providers.injected import UNPARSEABLE, baseline_error, error_object, failed_answer
from battletui.providers.jsonrpc import (
    Params,
    RpcError,
    handle_payload,
    method_names,
    parse,
    parse_error_response,
)
from battletui.providers.methods import EthApi
from battletui.providers.received import ReceivedCounter
from battletui.providers.resets import reset_transport, socket_closed

QUEUE_LIMIT: Final = 1024
"""Messages a connection may have waiting to be sent before it is dropped as too slow."""

CLOSE_TIMEOUT: Final = 1.0
"""How long a close (close frame out, socket closed) may take before the socket is reset
instead: a peer that does not read never lets the close frame through."""

MAX_MESSAGE: Final = 4 * 1024 * 1024
"""Largest incoming frame; bigger ones close the connection (1009)."""

SUBSCRIPTION_KINDS: Final = ("newHeads", "logs", "newPendingTransactions")

_SLOW_READER: Final = "subscriber too slow: send queue full"

MAX_SUBSCRIPTIONS: Final = 100
"""Subscriptions one socket may hold (a gateway needs one or two; a thousand is an attack)."""
SERVER_ERROR: Final = -32000
TOO_MANY_SUBSCRIPTIONS: Final = (
    f"too many subscriptions on this connection (at most {MAX_SUBSCRIPTIONS})"
)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class WsConnection:
    """One upgraded connection: its reader loop, its send queue and its subscriptions."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        endpoint: RpcWsEndpoint,
    ) -> None:
        self._ws = ws
        self._transport = request.transport
        self._endpoint = endpoint
        self._queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()
        self._subscriptions: set[str] = set()
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._delayed: set[asyncio.TimerHandle] = set()
        """Answers waiting out a per-method degrade before they join the queue."""
        self._loop = asyncio.get_running_loop()

    @property
    def closing(self) -> bool:
        return self._closer is not None

    async def serve(self) -> None:
        """Answer frames until the peer closes, the socket dies or ``begin_close`` runs."""
        self._sender = asyncio.create_task(self._send_loop(), name="ws-send")
        async for message in self._ws:
            await self._wait_for_room()
            if message.type is WSMsgType.TEXT:
                self._on_frame(str(message.data).encode())
            elif message.type is WSMsgType.BINARY:
                self._on_frame(bytes(message.data))
            elif message.type is WSMsgType.ERROR:
                break

    def begin_close(self, code: int, reason: str) -> asyncio.Task[None] | None:
        """Drop the subscriptions now and close with ``code`` in the background.

        None when a close is already under way. The handler waits for the close to finish.
        """
        if self._closer is not None:
            return None
        self._drop_subscriptions()
        self._room.set()  # a reader held by back-pressure must not hold up the close
        self._closer = asyncio.create_task(self._close(code, reason), name="ws-close")
        return self._closer

    async def finish(self) -> None:
        """Release everything once the reader loop has ended (however it ended)."""
        self._drop_subscriptions()
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        await self._stop_sender()
        if self._closer is not None:
            await asyncio.wait([self._closer])

    # -- receiving -----------------------------------------------------------------------

    async def _wait_for_room(self) -> None:
        """Back-pressure on requests: no new frame is read while the send queue is full."""
        while (
            self._queue.qsize() + len(self._delayed) >= self._endpoint.queue_limit
            and not self.closing
        ):
            self._room.clear()
            await self._room.wait()

    def _on_frame(self, body: bytes) -> None:
        if self.closing:
            return
        arrived = self._loop.time()
        gate = self._endpoint.gate
        gate.meter.hit()
        try:
            payload: object = parse(body)
        except RpcError:
            payload = UNPARSEABLE
        self._endpoint.received.ws(payload)
        methods = method_names(payload) if payload is not UNPARSEABLE else []
        answer: object | None
        if gate.should_fail():
            answer = failed_answer(payload, baseline_error())
        elif (fault := gate.draw_error()) is not None:
            answer = failed_answer(payload, error_object(fault, gate.meter.rate()))
        elif payload is UNPARSEABLE:
            answer = parse_error_response()
        else:
            answer = handle_payload(payload, self._call)
        if answer is None:
            return
        extra = gate.method_delay(methods)
        if extra <= 0:
            self._enqueue(_json(answer), arrived + gate.delay())
            return
        # A degraded method must not hold up the answers and heads behind it: its answer
        # joins the queue only once its own delay has passed (answers are matched by id).
        handle: asyncio.TimerHandle | None = None

        def join(text: str = _json(answer)) -> None:
            assert handle is not None
            self._delayed.discard(handle)
            self._room.set()
            self._enqueue(text, self._loop.time() + gate.delay())

        handle = self._loop.call_at(arrived + extra, join)
        self._delayed.add(handle)

    def _call(self, method: str, params: Params) -> object:
        if method == "eth_subscribe":
            return self._subscribe(params)
        if method == "eth_unsubscribe":
            return self._unsubscribe(params)
        return self._endpoint.api(method, params)

    def _subscribe(self, params: Params) -> str:
        if not isinstance(params, list) or not params:
            raise RpcError(INVALID_PARAMS, "missing value for required argument 0")
        kind = params[0]
        if not isinstance(kind, str):
            raise RpcError(INVALID_PARAMS, "invalid argument 0: subscription name expected")
        if kind not in SUBSCRIPTION_KINDS:
            raise RpcError(INVALID_PARAMS, f"no {json.dumps(kind)} subscription in eth namespace")
        if len(params) > 2 or (kind == "newHeads" and len(params) > 1):
            raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {len(params) - 1}")
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            raise RpcError(SERVER_ERROR, TOO_MANY_SUBSCRIPTIONS)
        feed = self._endpoint.feed
        option = params[1] if len(params) > 1 else None
        if kind == "logs":
            criteria = {} if option is None else option
            if not isinstance(criteria, dict):
                raise RpcError(INVALID_PARAMS, "invalid argument 1: filter criteria expected")
            wanted = LogCriteria(
                parse_addresses(criteria.get("address")), parse_topics(criteria.get("topics"))
            )
            sid = feed.subscribe(self._notify, "logs", wanted)
        elif kind == "newPendingTransactions":
            if option is not None and not isinstance(option, bool):
                raise RpcError(INVALID_PARAMS, "invalid argument 1: expected a boolean")
            sid = feed.subscribe(self._notify, "pending", full=bool(option))
        else:
            sid = feed.subscribe(self._notify)
        self._subscriptions.add(sid)
        return sid

    def _unsubscribe(self, params: Params) -> bool:
        if not isinstance(params, list) or not params:
            raise RpcError(INVALID_PARAMS, "missing value for required argument 0")
        if len(params) > 1:
            raise RpcError(INVALID_PARAMS, "too many arguments, want at most 1")
        sid = params[0]
        if not isinstance(sid, str):
            raise RpcError(INVALID_PARAMS, "invalid argument 0: subscription id expected")
        if sid not in self._subscriptions:
            return False
        self._subscriptions.discard(sid)
        return self._endpoint.feed.unsubscribe(sid)

    def _drop_subscriptions(self) -> None:
        for sid in self._subscriptions:
            self._endpoint.feed.unsubscribe(sid)
        self._subscriptions.clear()

    # -- sending -------------------------------------------------------------------------

    def _notify(self, text: str) -> None:
        self._enqueue(text, self._loop.time() + self._endpoint.gate.delay())

    def _enqueue(self, text: str, due: float) -> None:
        if self.closing:
            return
        if self._queue.qsize() >= self._endpoint.queue_limit:
            self.begin_close(WSCloseCode.POLICY_VIOLATION, _SLOW_READER)
            return
        self._queue.put_nowait((due, text))

    async def _send_loop(self) -> None:
        try:
            while True:
                due, text = await self._queue.get()
                self._room.set()
                await self._endpoint.gate.resumed()  # nothing leaves while hung
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._ws.send_str(text)
        except ConnectionError:
            return  # the socket is going away; the reader loop sees it too

    async def _stop_sender(self) -> None:
        task, self._sender = self._sender, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the reader loop reports the real cause
        while not self._queue.empty():  # free the backlog now
            self._queue.get_nowait()

    async def _close(self, code: int, reason: str) -> None:
        """Stop sending, send the close frame and close the socket; RST after
        ``CLOSE_TIMEOUT`` if that has not happened (aiohttp closes the transport politely,
        which waits for the peer to read everything before the close frame)."""
        await self._stop_sender()
        transport = self._transport
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._ws.close(code=code, message=reason.encode())
                while transport is not None and not socket_closed(transport):
                    await asyncio.sleep(0.002)
        except TimeoutError:
            if transport is not None:
                reset_transport(transport)


class RpcWsEndpoint:
    """The ``GET /`` handler and the set of open WebSocket connections of one provider."""

    def __init__(
        self,
        api: EthApi,
        gate: Gate,
        feed: HeadFeed,
        queue_limit: int = QUEUE_LIMIT,
        received: ReceivedCounter | None = None,
    ) -> None:
        if queue_limit < 1:
            raise ValueError("queue_limit must be >= 1")
        self.received = received if received is not None else ReceivedCounter()
        """Every frame read is counted here, before any fault draws its answer."""
        self.api = api
        self.gate = gate
        self.feed = feed
        self.queue_limit = queue_limit
        self._connections: set[WsConnection] = set()

    @property
    def connections(self) -> int:
        """Open WebSocket connections (a closing one counts until its close is done)."""
        return len(self._connections)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade and serve; a plain GET on ``/`` is refused as before (405, POST only)."""
        ws = web.WebSocketResponse(timeout=CLOSE_TIMEOUT, max_msg_size=MAX_MESSAGE)
        if not ws.can_prepare(request).ok:
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        await self.gate.enter(request.transport)  # the handshake waits out the latency
        await ws.prepare(request)
        connection = WsConnection(ws, request, self)
        self._connections.add(connection)
        try:
            await connection.serve()
        finally:
            self._connections.discard(connection)
            await connection.finish()
        return ws

    async def close_all(self, code: int, reason: str) -> int:
        """Close every open connection with ``code``; returns how many this closed."""
        closers = [
            task
            for connection in list(self._connections)
            if (task := connection.begin_close(code, reason)) is not None
        ]
        if closers:
            await asyncio.wait(closers)
        return len(closers)

    async def wait_gone(self, timeout: float) -> None:
        """Wait (bounded) until every connection's handler has finished, after a reset."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._connections and loop.time() < deadline:
            await asyncio.sleep(0.001)
