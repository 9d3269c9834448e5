"""What can go wrong on the wire, as exceptions a caller can tell apart (and word)."""

from __future__ import annotations

__all__ = ["BadResponse", "ConnectFailed", "Disconnected", "PoolFull", "WireError"]


class WireError(OSError):
    """Any transport failure of one request (an ``OSError``, as socket errors are)."""


class ConnectFailed(WireError):
    """The connection could not be opened (``errno`` says why: refused, unreachable...)."""


class Disconnected(WireError):
    """The server closed or reset the connection before the answer was complete.

    ``reset``: it was reset (RST), not closed; ``partial``: part of the answer had arrived
    (a truncated response)."""

    def __init__(self, message: str, *, reset: bool = False, partial: bool = False) -> None:
        super().__init__(message)
        self.reset = reset
        self.partial = partial


class BadResponse(WireError):
    """The bytes that came back are not an HTTP/1.1 response."""


class PoolFull(WireError):
    """More requests wait for a connection than the pool allows to wait."""
