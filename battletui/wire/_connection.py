"""One keep-alive HTTP/1.1 connection: write a request's bytes, get its answer back.

An asyncio protocol with httptools' response parser; one request at a time (no pipelining,
as JSON-RPC clients do). The answer's body ends at its Content-Length, its last chunk, or
(neither given) at the server's close.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

from battletui.wire._errors import BadResponse, Disconnected

__all__ = ["Connection", "WireResponse"]


class WireResponse:
    """An HTTP answer: ``status``, ``headers`` (lower-case names), ``body``."""

    __slots__ = ("body", "headers", "keep_alive", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, keep_alive: bool):
        self.status = status
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        """The server keeps the connection open for the next request."""

    def __repr__(self) -> str:
        return f"WireResponse({self.status}, {len(self.body)} bytes)"


class Connection(asyncio.Protocol):
    """Owned by a pool; ``closed`` once the transport is gone, for whatever reason."""

    __slots__ = (
        "_body",
        "_delimited",
        "_headers",
        "_parser",
        "_started",
        "_transport",
        "_waiter",
        "closed",
    )

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[WireResponse] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._started = False
        """Some of the current answer arrived (a close now truncates it)."""
        self._delimited = False
        """The answer says where its body ends (Content-Length or chunked)."""
        self.closed = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing was asked: a server talking out of turn
            self.close()
            return
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(BadResponse(f"bad response ({error})"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done() and not self._delimited and exc is None:
            self._finish(keep_alive=False)  # the body ran to the server's close
            return
        reset = isinstance(exc, ConnectionResetError)
        if reset:
            message = "connection reset"
        elif self._started:
            message = "truncated response"
        else:
            message = "server disconnected"
        self._fail(Disconnected(message, reset=reset, partial=self._started))

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key == "content-length" or (key == "transfer-encoding" and b"chunked" in value):
            self._delimited = True
        self._headers[key] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep_alive=self._parser.should_keep_alive())

    # -- the pool's side ----------------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[WireResponse]:
        """Write ``request`` (a whole HTTP request); the future resolves with its answer."""
        assert self._transport is not None and self._waiter is None
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(request)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # -- internals ----------------------------------------------------------------------------

    def _headers_done(self) -> bool:
        try:
            return bool(self._parser.get_status_code())
        except httptools.HttpParserError:
            return False

    def _finish(self, *, keep_alive: bool) -> None:
        waiter, self._waiter = self._waiter, None
        status = self._parser.get_status_code()
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        headers = self._headers
        self._headers, self._body, self._started, self._delimited = {}, [], False, False
        if waiter is not None and not waiter.done():
            waiter.set_result(WireResponse(status, headers, body, keep_alive))

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
