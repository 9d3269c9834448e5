"""Resetting TCP connections the way a crashed server does: RST, not a polite FIN.

``SO_LINGER`` with a zero timeout makes ``close()`` discard unsent data and send RST, so a
client blocked on a read (or holding an idle keep-alive socket) sees ECONNRESET at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Final

_LINGER_ZERO: Final = struct.pack("ii", 1, 0)


def reset_transport(transport: asyncio.BaseTransport) -> None:
    """Abort ``transport`` so that its socket closes with RST."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()


def socket_closed(transport: asyncio.BaseTransport) -> bool:
    """True once the transport's socket is closed (the RST has been sent)."""
    sock = transport.get_extra_info("socket")
    return sock is None or sock.fileno() == -1


class ResetProtocol(asyncio.Protocol):
    """Stands in for the HTTP protocol while a provider is down: resets whatever connects.

    Covers connections the kernel had already accepted when the listener closed.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        reset_transport(transport)
