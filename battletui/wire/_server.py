"""A lean HTTP/1.1 server for the one hot request, with everything else handed to aiohttp.

A JSON-RPC endpoint spends most of its time on ``POST /``; aiohttp's server machinery cost
the reference gateway about a third of its CPU per request. Here ``POST /`` (and ``POST /?…``)
is parsed by httptools and answered by a plain coroutine; any other request — a WebSocket
upgrade, ``GET /health``, an admin call — is handed, connection and bytes, to an aiohttp
protocol (``web.Server``) that serves it as if it had accepted the connection itself. One
port, both kinds of traffic, no behaviour lost.

The decision is made at the start of each request on a connection that is between
requests; a connection handed over stays with aiohttp. Requests are answered in order;
``Expect: 100-continue`` is honoured; a body over ``max_body`` gets 413 and the connection
is closed; ``FastPostServer`` closes a keep-alive connection idle for ``idle_timeout``
seconds, and one whose request headers have not all arrived ``header_timeout`` seconds after
its first byte (a slowloris client holds nothing for long); one sweep a second, not a timer
per request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, cast

import httptools

__all__ = ["FastPost", "FastPostServer", "PostHandler", "PostReply"]

_log = logging.getLogger(__name__)

HEADER_TIMEOUT: Final = 10.0
"""Seconds a request's headers may take to arrive, from its first byte."""

PostReply = tuple[int, bytes, Sequence[tuple[str, str]]]
"""Status, body (JSON) and extra headers of an answer."""
PostHandler = Callable[[bytes], Awaitable[PostReply]]
ProtocolFactory = Callable[[], asyncio.Protocol]

_FAST_PREFIXES: Final = (b"POST / ", b"POST /?")
_LONGEST: Final = max(len(p) for p in _FAST_PREFIXES)
_REASONS: Final = {
    200: b"OK",
    400: b"Bad Request",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class FastPost(asyncio.Protocol):
    """One accepted connection; ``create_server(lambda: FastPost(...))`` serves a port."""

    def __init__(
        self,
        handler: PostHandler,
        fallback: ProtocolFactory,
        *,
        max_body: int = 1 << 20,
    ) -> None:
        self.reading_headers = False
        """A request has begun and its headers are not all in yet."""
        self.requests_begun = 0
        """Requests begun on this connection (the sweep tells one slow request from many)."""
        self.header_mark: tuple[int, float] | None = None
        """(requests_begun, sweep time) when the sweep first saw this request's headers
        still coming: the time is the sweep's, so the request path reads no clock."""
        self._handler = handler
        self._fallback = fallback
        self._max_body = max_body
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._between = True
        """No request is being parsed: the next bytes start one."""
        self._pending = b""
        """The start of a request too short yet to tell which kind it is."""
        self._body: list[bytes] = []
        self._size = 0
        self._queue: collections.deque[tuple[bytes, bool]] = collections.deque()
        self._worker: asyncio.Task[None] | None = None
        self._handoff: bytes | None = None
        """Bytes for aiohttp, once the answers still owed are written."""
        self.last_active = 0.0
        """Loop time of the last bytes or answer (the server's idle sweep reads it)."""
        self._refused = False
        self._url_seen = False
        self.on_lost: Callable[[FastPost], None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self.last_active = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._handoff is not None:
            self._handoff += data
            return
        if self._between and not self.reading_headers:
            self.reading_headers = True
            self.requests_begun += 1
        if self._between:
            data = self._pending + data
            self._pending = b""
            if len(data) < _LONGEST and any(p.startswith(data) for p in _FAST_PREFIXES):
                self._pending = data  # "POS": wait for the rest of the request line
                return
            if not data.startswith(_FAST_PREFIXES):
                self._hand_off(data)
                return
            self._between = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - POST upgrades are not ours
            self._refuse(400, b"upgrade on POST")
        except httptools.HttpParserError:
            self._refuse(400, b"bad request")

    def connection_lost(self, exc: Exception | None) -> None:
        self._refused = True
        if self._worker is not None:
            self._worker.cancel()
        if self.on_lost is not None:
            self.on_lost(self)

    def close(self) -> None:
        if self._transport is not None and not self._refused:
            self._transport.close()

    @property
    def idle(self) -> bool:
        """Between requests with no answer owed: safe to close."""
        return self._between and not self._pending and self._worker is None

    # -- httptools callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._between = False
        self._body = []
        self._size = 0
        self._url_seen = False

    def on_url(self, url: bytes) -> None:
        if self._url_seen:  # a URL split across reads: its start was checked
            return
        self._url_seen = True
        method = self._parser.get_method()
        if method != b"POST" or not (url == b"/" or url.startswith(b"/?")):
            self._refuse(400, b"pipelined request for another endpoint")  # rare: see module

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"expect" and value.lower() == b"100-continue":
            assert self._transport is not None
            self._transport.write(_CONTINUE)
        elif lower == b"content-length":
            with contextlib.suppress(ValueError):
                if int(value) > self._max_body:
                    self._refuse(413, b"request body too large")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            self._refuse(413, b"request body too large")
            return
        self._body.append(body)

    def on_headers_complete(self) -> None:
        self.reading_headers = False

    def on_message_complete(self) -> None:
        if self._refused:
            return
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        self._body = []
        self._queue.append((body, self._parser.should_keep_alive()))
        self._between = True
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._answer_all())

    # -- answering ----------------------------------------------------------------------------

    async def _answer_all(self) -> None:
        transport = self._transport
        assert transport is not None
        try:
            while self._queue:
                body, keep_alive = self._queue.popleft()
                try:
                    status, answer, headers = await self._handler(body)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _log.exception("JSON-RPC handler failed")
                    status, answer, headers = 500, _internal_error(), ()
                if transport.is_closing():
                    return
                transport.write(_response(status, answer, headers, keep_alive))
                if not keep_alive:
                    transport.close()
                    return
        finally:
            self._worker = None
            self.last_active = asyncio.get_running_loop().time()
        if self._handoff is not None:
            self._hand_off(self._handoff)

    def _hand_off(self, data: bytes) -> None:
        """Give the connection to aiohttp, starting with ``data`` (once our answers are out)."""
        self.reading_headers = False  # aiohttp's own timeouts take over (keepalive_timeout)
        if self._worker is not None or self._queue:
            self._handoff = data
            return
        transport = self._transport
        assert transport is not None
        self._refused = True  # nothing more of this connection is ours
        if self.on_lost is not None:
            self.on_lost(self)  # aiohttp owns it now (and closes it at shutdown)
            self.on_lost = None
        protocol = self._fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if data:
            protocol.data_received(data)

    def _refuse(self, status: int, why: bytes) -> None:
        """Answer ``status`` and close: the request cannot be served on this fast path."""
        if self._refused or self._transport is None:
            return
        self._refused = True
        body = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"%s"}}' % why
        self._transport.write(_response(status, body, (), False))
        self._transport.close()


def _response(
    status: int, body: bytes, headers: Sequence[tuple[str, str]], keep_alive: bool
) -> bytes:
    reason = _REASONS.get(status, b"Unknown")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1")
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s%s\r\n%s"
        % (status, reason, len(body), connection, extra, body)
    )


def _internal_error() -> bytes:
    return b'{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}'


class FastPostServer:
    """A listening socket whose connections start as :class:`FastPost`; closes the idle
    ones after ``idle_timeout`` seconds, and all of them on ``close`` (aiohttp's own
    shutdown ends those handed to it)."""

    def __init__(
        self,
        handler: PostHandler,
        fallback: ProtocolFactory,
        *,
        max_body: int = 1 << 20,
        idle_timeout: float = 75.0,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self._handler = handler
        self._fallback = fallback
        self._max_body = max_body
        self._idle_timeout = idle_timeout
        self._header_timeout = header_timeout
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._connections: set[FastPost] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); the port bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, host, port)
        if self._idle_timeout > 0 or self._header_timeout > 0:
            self._sweeper = loop.create_task(self._sweep(), name="fast-post-idle")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        return len(self._connections)

    def _accept(self) -> FastPost:
        connection = FastPost(self._handler, self._fallback, max_body=self._max_body)
        connection.on_lost = self._connections.discard
        self._connections.add(connection)
        return connection

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        timeouts = [t for t in (self._idle_timeout, self._header_timeout) if t > 0]
        period = min(1.0, min(timeouts) / 2)
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for connection in list(self._connections):
                idle = connection.idle and connection.last_active < now - self._idle_timeout
                if (idle and self._idle_timeout > 0) or self._headers_late(connection, now):
                    connection.close()

    def _headers_late(self, connection: FastPost, now: float) -> bool:
        """Whether the request whose headers are coming began ``header_timeout`` ago, as
        far as the sweep can tell (to within one sweep period)."""
        if self._header_timeout <= 0 or not connection.reading_headers:
            connection.header_mark = None
            return False
        mark = connection.header_mark
        if mark is None or mark[0] != connection.requests_begun:
            connection.header_mark = (connection.requests_begun, now)
            return False
        return mark[1] < now - self._header_timeout

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()
        await asyncio.sleep(0)
