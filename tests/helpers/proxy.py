"""A TCP proxy that fails on command: what a flaky network does to a viewer's connection.

``drop()`` cuts every connection through it (the peer sees the socket close); ``blackhole()``
keeps connections open but lets nothing through, new ones included (a dead Wi-Fi: the viewer
learns of it only from silence); ``forward()`` lets new connections through again.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class FlakyProxy:
    def __init__(self) -> None:
        self._target: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.blackholed = False
        self.connections = 0
        """Connections accepted so far (a reconnect is a new one)."""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def route(self, url: str) -> str:
        """Proxy ``url``'s host and port: the same URL through this proxy."""
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", int(parts.port or 80))
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))

    def drop(self) -> None:
        """Close every connection through the proxy now."""
        for writer in list(self._writers):
            writer.transport.abort()

    def blackhole(self) -> None:
        self.blackholed = True

    def forward(self) -> None:
        """Let new connections through; the blackholed ones stay dead until their peer gives up."""
        self.blackholed = False

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            if self.blackholed or self._target is None:
                await self._swallow(reader)
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            self._writers.add(up_writer)
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                self._writers.discard(up_writer)
                up_writer.transport.abort()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes until either side closes; a blackhole from then on swallows them."""
        while data := await reader.read(CHUNK):
            if self.blackholed:
                await self._swallow(reader)
                return
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(CHUNK):
            pass
