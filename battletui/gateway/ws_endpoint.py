"""The client side of the gateway's WebSocket: JSON-RPC over a socket on ``GET /``.

``eth_subscribe ["newHeads"]`` answers with the gateway's own subscription id, which never
changes whatever happens upstream; every head of the shared feed goes to every subscription
as a geth ``eth_subscription`` notification. ``["logs", {address, topics}]`` is served from
the same feed (``log_feed.py``). ``eth_unsubscribe`` ends one. Every other request
(single or batch) is forwarded over HTTP through the router, failover included, and answered
on the socket. Each client has a bounded send queue: a client that cannot keep up is
disconnected (close code 1008) instead of growing the gateway's memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import web

from battletui.gateway.head_sequencer import Head
from battletui.gateway.jsonrpc import (
    PARSE_ERROR_REPLY,
    error_object,
    error_reply,
    expects_reply,
)
from battletui.gateway.log_feed import BadCriteria, LogCriteria, LogFeed
from battletui.processes import cancel_and_wait
from battletui.protocol.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS
from battletui.wire import loads as fast_loads

__all__ = [
    "INFLIGHT_LIMIT",
    "SEND_QUEUE_LIMIT",
    "SLOW_CLIENT_CLOSE_CODE",
    "ClientConnection",
    "WsEndpoint",
]

_log = logging.getLogger(__name__)

SEND_QUEUE_LIMIT: Final = 1024
MAX_SUBSCRIPTIONS: Final = 100
"""Subscriptions one client socket may hold: a dapp needs a handful; a thousand is an attack."""
SERVER_ERROR: Final = -32000
TOO_MANY_SUBSCRIPTIONS: Final = (
    f"too many subscriptions on this connection (at most {MAX_SUBSCRIPTIONS})"
)
"""Messages queued for one client before it is disconnected as too slow."""
SLOW_CLIENT_CLOSE_CODE: Final = 1008
INFLIGHT_LIMIT: Final = 64
"""Forwarded requests one client may have in flight; reading its socket waits beyond that."""
MAX_MESSAGE: Final = 4 * 1024 * 1024
CLOSE_TIMEOUT: Final = 1.0
"""How long closing a client socket waits for the client's close frame."""
SUPPORTED: Final = ("newHeads", "logs")
_PARSE_ERROR_TEXT: Final = PARSE_ERROR_REPLY.decode()

Forward = Callable[[bytes, Any], Awaitable[tuple[int, bytes]]]
"""Route a client request over HTTP: (status, body)."""


class _Socket(Protocol):
    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


def _reply(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


@dataclass(frozen=True)
class _Local:
    answer: dict[str, Any] | None
    sub_id: str | None = None
    logs: LogCriteria | None = None
    """For a ``logs`` subscription: its filter."""


class ClientConnection:
    """One client socket: its subscriptions and its bounded, ordered send queue."""

    def __init__(
        self,
        ws: _Socket,
        *,
        queue_limit: int = SEND_QUEUE_LIMIT,
        abort: Callable[[], None] | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self.ws = ws
        self._abort = abort
        self._close_timeout = close_timeout
        self.subscriptions: set[str] = set()
        self.reserved = 0
        """Subscriptions answered but not active yet (a batch is activated after its answer)."""
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_limit)
        self.slots = asyncio.Semaphore(INFLIGHT_LIMIT)
        self.tasks: set[asyncio.Task[None]] = set()
        self.overflowed = False
        self.writer: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.writer = asyncio.create_task(self._write(), name="gateway-ws-writer")

    def send(self, text: str) -> bool:
        """Queue ``text``; a full queue disconnects the client. False when not queued."""
        if self.overflowed:
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflow()
            return False
        return True

    def overflow(self) -> None:
        """Too slow: stop queueing and close with 1008 (the handler then cleans up)."""
        if self.overflowed:
            return
        self.overflowed = True
        self.closer = asyncio.create_task(self._close_slow(), name="gateway-ws-slow-close")

    async def _close_slow(self) -> None:
        # The writer stops after the message it is sending (cancelling a send midway would
        # break the socket's flow control for the close frame too).
        if self.writer is not None:
            done, _ = await asyncio.wait({self.writer}, timeout=self._close_timeout)
            if not done:  # not reading at all: no close frame can get through
                self.abort()
                return
        await self.close(SLOW_CLIENT_CLOSE_CODE, b"send queue full")
        # Closed, but the client may still not read (its close reply never comes): give it
        # a moment, then cut it off. The handler cancels this once the connection has ended.
        await asyncio.sleep(self._close_timeout)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once (no close handshake)."""
        if self._abort is not None:
            self._abort()

    async def close(self, code: int, message: bytes) -> None:
        """Close within the close timeout; a client that does not even read its socket
        (so the close frame cannot be written) is cut off."""
        try:
            async with asyncio.timeout(self._close_timeout):
                await self.ws.close(code=code, message=message)
        except TimeoutError:
            self.abort()
        except Exception:  # pragma: no cover - the socket is gone already
            _log.debug("closing a client socket failed", exc_info=True)

    async def _write(self) -> None:
        try:
            while not self.overflowed:
                text = await self.queue.get()
                await self.ws.send_str(text)
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return  # the socket is gone; the handler's read loop ends as well

    async def shutdown(self) -> None:
        """Cancel the writer and in-flight requests and wait for them."""
        await cancel_and_wait(self.writer, self.closer, *self.tasks, swallow=True)


class WsEndpoint:
    """All client sockets and their subscriptions.

    ``on_first`` runs when the first subscription appears, ``on_last`` when the last one ends:
    they start and stop the shared upstream feed.
    """

    def __init__(
        self,
        forward: Forward,
        *,
        on_first: Callable[[], None],
        on_last: Callable[[], None],
        seed: int = 0,
        queue_limit: int = SEND_QUEUE_LIMIT,
    ) -> None:
        self._forward = forward
        self._on_first = on_first
        self._on_last = on_last
        self._rng = random.Random(f"gateway-ws-subscriptions-{seed}")
        self._queue_limit = queue_limit
        self._clients: set[ClientConnection] = set()
        self._owners: dict[str, ClientConnection] = {}
        self._pending_logs: dict[str, LogCriteria] = {}
        self._logs = LogFeed(forward, self._send_log)
        self._closing = False

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def subscriptions(self) -> int:
        return len(self._owners)

    # -- fan-out -----------------------------------------------------------------------------

    def deliver(self, head: Head) -> None:
        """Send ``head`` to every ``newHeads`` subscription, each with its own id; the
        ``logs`` subscriptions get the block's logs once they are fetched."""
        if not self._owners:
            return
        self._logs.on_head(head)
        header = json.dumps(head.header, separators=(",", ":"))
        log_ids = self._logs.ids
        for sub_id, client in list(self._owners.items()):
            if sub_id in log_ids:
                continue
            text = (
                '{"jsonrpc":"2.0","method":"eth_subscription","params":'
                f'{{"subscription":"{sub_id}","result":{header}}}}}'
            )
            if not client.send(text):
                self._drop_client_subscriptions(client)

    def _send_log(self, sub_id: str, log: dict[str, Any]) -> None:
        client = self._owners.get(sub_id)
        if client is None:
            return
        result = json.dumps(log, separators=(",", ":"))
        text = (
            '{"jsonrpc":"2.0","method":"eth_subscription","params":'
            f'{{"subscription":"{sub_id}","result":{result}}}}}'
        )
        if not client.send(text):
            self._drop_client_subscriptions(client)

    # -- the socket --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, timeout=CLOSE_TIMEOUT, compress=False)
        if not ws.can_prepare(request).ok:
            return web.Response(
                status=405,
                text="POST JSON-RPC here, or open a WebSocket\n",
                headers={"Allow": "POST"},
            )
        if self._closing:
            raise web.HTTPServiceUnavailable()
        await ws.prepare(request)
        transport = request.transport
        client = ClientConnection(
            ws,
            queue_limit=self._queue_limit,
            abort=None if transport is None else transport.abort,
        )
        client.start()
        self._clients.add(client)
        try:
            async for message in ws:
                if client.overflowed:
                    break
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self._on_message(client, message.data)
                elif message.type is aiohttp.WSMsgType.BINARY:
                    try:
                        text = message.data.decode()
                    except UnicodeDecodeError:
                        client.send(_PARSE_ERROR_TEXT)
                        continue
                    await self._on_message(client, text)
        finally:
            self._clients.discard(client)
            self._drop_client_subscriptions(client)
            await client.shutdown()
            await client.close(1000, b"")
        return ws

    async def close(self) -> None:
        """Close every client socket (1001, going away), all at once."""
        self._closing = True
        clients = list(self._clients)
        for client in clients:
            self._drop_client_subscriptions(client)
        await self._logs.close()
        await asyncio.gather(*(c.close(1001, b"gateway shutting down") for c in clients))
        deadline = asyncio.get_running_loop().time() + CLOSE_TIMEOUT
        while self._clients and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        for client in list(self._clients):  # closed but not reading: cut off
            client.abort()

    # -- requests ----------------------------------------------------------------------------

    async def _on_message(self, client: ClientConnection, text: str) -> None:
        try:
            parsed = fast_loads(text)
        except (ValueError, RecursionError):
            client.send(_PARSE_ERROR_TEXT)
            return
        if _is_local(parsed):
            local = self._local(client, parsed)
            if local.answer is not None:
                client.send(json.dumps(local.answer))
            if local.sub_id is not None:
                self._activate(client, [local.sub_id])
            return
        await client.slots.acquire()
        task = asyncio.create_task(self._relay(client, text, parsed), name="gateway-ws-rpc")
        client.tasks.add(task)
        task.add_done_callback(client.tasks.discard)

    async def _relay(self, client: ClientConnection, text: str, parsed: Any) -> None:
        try:
            new_subscriptions: list[str] = []
            if isinstance(parsed, list) and any(_is_local(item) for item in parsed):
                answer = await self._relay_mixed_batch(client, parsed, new_subscriptions)
            else:
                answer = await self._relay_raw(text.encode(), parsed)
            if answer:
                client.send(answer)
            self._activate(client, new_subscriptions)
        except Exception:  # pragma: no cover - the router answers every failure itself
            _log.exception("relaying a WebSocket request failed")
            if expects_reply(parsed):
                client.send(error_reply(parsed, INTERNAL_ERROR, "internal error").decode())
        finally:
            client.slots.release()

    async def _relay_raw(self, body: bytes, parsed: Any) -> str | None:
        _, reply = await self._forward(body, parsed)
        if not expects_reply(parsed):
            return None  # notifications get no answer, whatever the upstream said
        return reply.decode()  # JSON: the router relays only answers that parsed

    async def _relay_mixed_batch(
        self, client: ClientConnection, batch: list[Any], new_subscriptions: list[str]
    ) -> str | None:
        """A batch with subscription calls: those answered here, the rest forwarded."""
        answers: list[Any] = []
        rest: list[Any] = []
        for item in batch:
            if _is_local(item):
                local = self._local(client, item)
                if local.answer is not None:
                    answers.append(local.answer)
                if local.sub_id is not None:
                    new_subscriptions.append(local.sub_id)
            else:
                rest.append(item)
        if rest:
            relayed = await self._relay_raw(json.dumps(rest).encode(), rest)
            if relayed is not None:
                remote = fast_loads(relayed)
                answers.extend(remote if isinstance(remote, list) else [remote])
        return json.dumps(answers) if answers else None

    def _local(self, client: ClientConnection, request: dict[str, Any]) -> _Local:
        """Answer ``eth_subscribe`` / ``eth_unsubscribe`` (no answer for a notification).

        A new subscription is only returned, not yet active: the caller activates it right
        after queueing the answer, so the id reaches the client before any notification.
        """
        request_id = request.get("id")
        params = request.get("params")
        wants_reply = "id" in request
        if request.get("method") == "eth_subscribe":
            if not isinstance(params, list) or not params or not isinstance(params[0], str):
                return _Local(
                    error_object(request_id, INVALID_PARAMS, "invalid params: expected [kind]")
                )
            if params[0] not in SUPPORTED:
                message = f"unsupported subscription: {params[0]} (supported: newHeads, logs)"
                return _Local(error_object(request_id, INVALID_PARAMS, message))
            criteria: LogCriteria | None = None
            if params[0] == "logs":
                try:
                    criteria = LogCriteria.parse(params[1] if len(params) > 1 else None)
                except BadCriteria as exc:
                    message = f"invalid argument 1: {exc}"
                    return _Local(error_object(request_id, INVALID_PARAMS, message))
            elif len(params) > 1:
                message = "too many arguments, want at most 1"
                return _Local(error_object(request_id, INVALID_PARAMS, message))
            if not wants_reply:
                return _Local(None)  # nobody could learn the id: do not subscribe
            if len(client.subscriptions) + client.reserved >= MAX_SUBSCRIPTIONS:
                return _Local(error_object(request_id, SERVER_ERROR, TOO_MANY_SUBSCRIPTIONS))
            client.reserved += 1
            sub_id = self._new_id()
            if criteria is not None:
                self._pending_logs[sub_id] = criteria
            return _Local(_reply(request_id, sub_id), sub_id, criteria)
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], str):
            message = "invalid params: expected [subscription id]"
            return _Local(
                error_object(request_id, INVALID_PARAMS, message) if wants_reply else None
            )
        removed = params[0] in client.subscriptions
        if removed:
            self._remove(client, params[0])
        return _Local(_reply(request_id, removed) if wants_reply else None)

    def _activate(self, client: ClientConnection, sub_ids: list[str]) -> None:
        if self._closing or client.overflowed or client not in self._clients:
            return
        client.reserved = max(0, client.reserved - len(sub_ids))
        for sub_id in sub_ids:
            self._owners[sub_id] = client
            client.subscriptions.add(sub_id)
            criteria = self._pending_logs.pop(sub_id, None)
            if criteria is not None:
                self._logs.add(sub_id, criteria)
            if len(self._owners) == 1:
                self._on_first()

    def _new_id(self) -> str:
        while True:
            sub_id = f"0x{self._rng.getrandbits(128):032x}"
            if sub_id not in self._owners:
                return sub_id

    def _remove(self, client: ClientConnection, sub_id: str) -> None:
        client.subscriptions.discard(sub_id)
        self._logs.remove(sub_id)
        if self._owners.pop(sub_id, None) is not None and not self._owners:
            self._on_last()

    def _drop_client_subscriptions(self, client: ClientConnection) -> None:
        for sub_id in list(client.subscriptions):
            self._remove(client, sub_id)


def _is_local(item: Any) -> bool:
    return isinstance(item, dict) and item.get("method") in ("eth_subscribe", "eth_unsubscribe")
