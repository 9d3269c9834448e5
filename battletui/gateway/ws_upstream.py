"""One ``newHeads`` subscription on one upstream, over its WebSocket endpoint.

Upstreams serve WebSocket on the host and port of their HTTP URL, path ``/``, and speak geth's
``eth_subscribe`` / ``eth_subscription`` protocol. Whatever ends the subscription becomes a short
reason for operators and the breaker: ``websocket closed (1001)``, ``websocket reset``, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
from yarl import URL

from battletui.gateway.upstream_client import Upstream
from battletui.protocol.errors import describe_error

__all__ = ["HeadSubscription", "SubscribeFailed", "UpstreamLost", "ws_url"]

CLOSE_TIMEOUT: Final = 0.5
"""How long closing waits for the upstream's close frame before dropping the connection."""
CLEAN_CLOSE_CODES: Final = frozenset({1000, 1001})
"""Close codes that mean "going away", not "broken": resubscribe at once, same place first."""


def ws_url(http_url: str) -> str:
    """``http://h:p/...`` → ``ws://h:p/`` (``https`` → ``wss``)."""
    url = URL(http_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    return str(url.with_scheme(scheme).with_path("/").with_query(None).with_fragment(None))


class SubscribeFailed(Exception):
    """The subscription could not be set up; ``reason`` is short and human."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamLost(Exception):
    """A live subscription ended. ``clean``: the upstream closed with 1000/1001."""

    def __init__(self, reason: str, *, clean: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clean = clean


def _closed_reason(ws: aiohttp.ClientWebSocketResponse) -> UpstreamLost:
    code = ws.close_code
    if code is None or code == 1006:
        return UpstreamLost("websocket reset")
    return UpstreamLost(f"websocket closed ({code})", clean=code in CLEAN_CLOSE_CODES)


class HeadSubscription:
    """A subscribed socket: iterate :meth:`headers`, then :meth:`close` (always)."""

    def __init__(self, upstream: Upstream, ws: aiohttp.ClientWebSocketResponse, sub_id: str):
        self.upstream = upstream
        self.subscription_id = sub_id
        self._ws = ws

    @classmethod
    async def open(
        cls, session: aiohttp.ClientSession, upstream: Upstream, *, timeout: float
    ) -> HeadSubscription:
        """Connect and subscribe within ``timeout`` seconds, or raise :class:`SubscribeFailed`."""
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            async with asyncio.timeout(timeout):
                ws = await session.ws_connect(
                    ws_url(upstream.url),
                    autoclose=True,
                    autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT),
                )
                request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe"}
                await ws.send_str(json.dumps({**request, "params": ["newHeads"]}))
                sub_id = await _await_subscription(ws)
        except SubscribeFailed:
            await _close_quietly(ws)
            raise
        except aiohttp.WSServerHandshakeError as exc:
            await _close_quietly(ws)
            raise SubscribeFailed(f"websocket handshake failed (HTTP {exc.status})") from exc
        except UpstreamLost as exc:
            await _close_quietly(ws)
            raise SubscribeFailed(exc.reason) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await _close_quietly(ws)
            raise SubscribeFailed(describe_error(exc, timeout)) from exc
        except BaseException:
            await _close_quietly(ws)
            raise
        return cls(upstream, ws, sub_id)

    async def headers(self) -> AsyncIterator[Any]:
        """Each notification's ``result`` (a header object), until :class:`UpstreamLost`."""
        while True:
            message = await _next_json(self._ws)
            if not isinstance(message, dict) or message.get("method") != "eth_subscription":
                continue
            params = message.get("params")
            if isinstance(params, dict) and params.get("subscription") == self.subscription_id:
                yield params.get("result")

    async def close(self) -> None:
        await _close_quietly(self._ws)


async def _next_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    """The next JSON message; raises :class:`UpstreamLost` when the socket ends."""
    while True:
        message = await ws.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            data: str | bytes = message.data
        elif message.type is aiohttp.WSMsgType.BINARY:
            data = message.data
        elif message.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
            continue
        elif message.type is aiohttp.WSMsgType.ERROR:
            error = ws.exception()
            if isinstance(error, aiohttp.WebSocketError):
                raise UpstreamLost(f"websocket error ({error.code})")
            raise UpstreamLost("websocket reset")
        else:  # CLOSE, CLOSING, CLOSED
            raise _closed_reason(ws)
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            continue  # not JSON: not ours to judge, a header will come or the stall timer fires


async def _await_subscription(ws: aiohttp.ClientWebSocketResponse) -> str:
    while True:
        message = await _next_json(ws)
        if not isinstance(message, dict) or message.get("id") != 1:
            continue
        result = message.get("result")
        if isinstance(result, str) and result:
            return result
        error = message.get("error")
        if isinstance(error, dict):
            raise SubscribeFailed(f"subscribe refused: JSON-RPC error {error.get('code')}")
        raise SubscribeFailed("subscribe refused: no subscription id")


async def _close_quietly(ws: aiohttp.ClientWebSocketResponse | None) -> None:
    if ws is None or ws.closed:
        return
    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
        await ws.close()
