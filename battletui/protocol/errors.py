"""Transport errors and timeouts in a person's words, the same in every process.

An operator reads these in the gateway's failover reasons and in the engine's chaos checks and
probes; one wording means one failure reads the same wherever it is seen (never a library's
own sentence with a URL in it).
"""

from __future__ import annotations

import errno

import aiohttp

__all__ = ["describe_error", "describe_os_error", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``1.0s`` / ``250ms``: short, human, stable in messages."""
    if seconds >= 1.0:
        return f"{seconds:.1f}s"
    return f"{seconds * 1000:.0f}ms"


def describe_error(exc: BaseException, timeout: float | None = None) -> str:
    """A short cause for a transport error or timeout, as shown to operators and clients."""
    if isinstance(exc, TimeoutError):
        return "timed out" if timeout is None else f"timeout after {format_seconds(timeout)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "truncated response"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad response ({exc.message})" if exc.message else "bad response"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = describe_os_error(exc.os_error)
        return cause if cause != "connection failed" else "connect failed"
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return type(exc).__name__


def describe_os_error(exc: OSError) -> str:
    """The socket-level cause in a person's words (aiohttp's own wrappers included, whose
    text is e.g. "Can not write request body for http://...": the cause is underneath)."""
    if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if exc.errno == errno.ECONNRESET or isinstance(exc, ConnectionResetError):
        return "connection reset"
    if exc.errno == errno.EPIPE or isinstance(exc, BrokenPipeError):
        return "broken pipe"
    if exc.errno == errno.ETIMEDOUT:
        return "timed out"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause is not exc:
        return describe_os_error(cause)
    if isinstance(exc, aiohttp.ClientOSError):
        return "connection lost"
    return exc.strerror or "connection failed"
