"""A bounded pool of keep-alive connections to one HTTP origin.

At most ``size`` connections are open at once. A request that finds none idle and the pool
full waits (first come, first served) for one to come back, and gives up with ``PoolFull``
when ``max_waiting`` others already wait. A connection whose request failed, was cancelled
or timed out is closed, never reused: its state is unknown. Bounded on purpose: an
overloaded target gets the same connections, not a flood of new ones, which is what made
throughput collapse with an unlimited pool.
"""

from __future__ import annotations

import asyncio
import collections
import errno
from collections.abc import Mapping
from urllib.parse import urlsplit

from battletui.wire._connection import Connection, WireResponse
from battletui.wire._errors import ConnectFailed, PoolFull, WireError

__all__ = ["HttpPool", "WireResponse"]


def _expire(waiter: asyncio.Future[WireResponse]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class HttpPool:
    """POSTs to ``url`` (``http://host:port/path``) over at most ``size`` connections."""

    def __init__(
        self,
        url: str,
        *,
        size: int = 64,
        max_waiting: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http://host:port/ URL, got {url!r}")
        if size < 1:
            raise ValueError(f"a pool needs one connection at least, got size {size}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.size = size
        self._max_waiting = max_waiting
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
        lines += ["Accept: application/json"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: list[Connection] = []
        self._waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()
        self._open = 0
        """Connections open or being opened (idle, busy and connecting)."""
        self._closed = False
        self.connects = 0
        """Connections opened so far (a pool that keeps connections alive opens few)."""

    # -- requests -----------------------------------------------------------------------------

    def encode(self, body: bytes) -> bytes:
        """The whole request for ``body``: encode a constant body once, send it many times."""
        return b"%s%d\r\n\r\n%s" % (self._prefix, len(body), body)

    async def post(self, body: bytes, *, timeout: float | None = None) -> WireResponse:
        """POST ``body``; the answer, or a ``WireError`` (cancellation propagates)."""
        return await self.send(self.encode(body), timeout=timeout)

    async def send(self, request: bytes, *, timeout: float | None = None) -> WireResponse:
        """Send an already ``encode``d request; ``TimeoutError`` after ``timeout`` seconds
        (waiting for a connection included). One timer per request, not a context manager:
        this runs tens of thousands of times a second."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if self._idle or self._open < self.size or deadline is None:
            connection = await self.acquire()
        else:
            async with asyncio.timeout_at(deadline):
                connection = await self.acquire()
        try:
            waiter = connection.send(request)
            if deadline is None:
                response = await waiter
            else:
                timer = loop.call_at(deadline, _expire, waiter)
                try:
                    response = await waiter
                finally:
                    timer.cancel()
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection, response.keep_alive)
        return response

    @property
    def waiting(self) -> int:
        """Requests waiting for a connection right now."""
        return len(self._waiters)

    @property
    def open(self) -> int:
        return self._open

    # -- connections --------------------------------------------------------------------------

    async def acquire(self) -> Connection:
        """An idle connection, a new one (room left), or the next one given back."""
        while True:
            if self._closed:
                raise WireError("the connection pool is closed")
            while self._idle:
                connection = self._idle.pop()  # the most recently used: warm, least likely
                if not connection.closed:  # to have been closed by an idle timeout
                    return connection
                self._open -= 1
            if self._open < self.size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            if self._max_waiting is not None and len(self._waiters) >= self._max_waiting:
                raise PoolFull(f"{len(self._waiters)} requests already wait for a connection")
            waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    given = waiter.result()  # handed over just as we were cancelled
                    if given is not None:
                        self._release(given, True)
                    else:
                        self._wake()
                raise
            if handed is not None:
                return handed

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(Connection, self.host, self.port)
        except OSError as error:
            code = error.errno or errno.ECONNREFUSED
            words = error.strerror or str(error) or "connect failed"
            raise ConnectFailed(code, words) from error
        self.connects += 1
        return connection

    def _release(self, connection: Connection, keep_alive: bool) -> None:
        if connection.closed or not keep_alive or self._closed:
            self._discard(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _discard(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        """A slot is free: the first waiter may open a connection of its own."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close every connection; waiting and later requests fail."""
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._open -= len(self._idle)
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(WireError("the connection pool is closed"))
        await asyncio.sleep(0)  # let the transports' close callbacks run
