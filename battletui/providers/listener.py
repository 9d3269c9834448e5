"""The provider's listening socket, which faults open and close on one fixed port.

aiohttp's ``TCPSite`` binds once per site; a provider that is killed and restored many times
must come back on the same port, so this owns the ``asyncio.Server`` directly and feeds it
the runner's protocol factory (exactly what ``TCPSite`` does inside).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Listener:
    """Binds ``host:port`` on ``open()``, unbinds on ``close()``; remembers the port."""

    def __init__(
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: str,
        port: int,
    ) -> None:
        self._factory = protocol_factory
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one, 0 included, until the first bind)."""
        return self._port

    async def open(self) -> None:
        """Listen; a port picked by the OS on the first bind is reused on every later one."""
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._factory, self._host, self._port, reuse_address=True)
        self._server = server
        sockets = server.sockets
        if sockets:
            self._port = int(sockets[0].getsockname()[1])

    def close(self) -> None:
        """Stop listening now: the socket is closed before this returns, so connects are
        refused. Accepted connections are left alone (the caller resets them)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
