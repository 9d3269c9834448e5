"""The aiohttp application of one mock provider: JSON-RPC on ``POST /``, ``GET /health``.

The provider adds the WebSocket endpoint (``GET /`` with ``Upgrade: websocket``) to ``app``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from battletui.chain import MockChain
from battletui.providers.gate import Gate
from battletui.providers.jsonrpc import (
    INTERNAL_ERROR,
    RpcError,
    error_response,
    handle_body,
    parse,
    request_id,
)
from battletui.providers.methods import EthApi

INJECTED_ERROR: Final = "internal error (injected by battletui)"

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _json(value: object, status: int = 200) -> web.Response:
    body = json.dumps(value, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json")


class RpcHttpApp:
    """Routes and handlers; counts requests answered and requests still in flight."""

    def __init__(self, provider_id: str, chain: MockChain, gate: Gate) -> None:
        self.served = 0
        self.in_flight = 0
        self._id = provider_id
        self._chain = chain
        self._gate = gate
        self._api = EthApi(chain, provider_id)
        self.app = web.Application()
        self.app.router.add_post("/", self._counted(self._rpc))
        self.app.router.add_get("/health", self._counted(self._health))

    def _counted(self, handler: Handler) -> Handler:
        """Wrap ``handler`` so ``in_flight`` covers its whole life, delay included."""

        async def counted(request: web.Request) -> web.Response:
            self.in_flight += 1
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1

        return counted

    async def _rpc(self, request: web.Request) -> web.Response:
        await self._gate.enter(request.transport)
        body = await request.read()
        if self._gate.should_fail():
            return self._answer(_json(injected_error(body), status=500))
        answer = handle_body(body, self._api)
        if answer is None:  # only notifications: the spec says nothing is returned
            return self._answer(web.Response(status=204))
        return self._answer(_json(answer))

    async def _health(self, request: web.Request) -> web.Response:
        await self._gate.enter(request.transport)
        head = self._chain.head_number()
        return self._answer(_json({"status": "ok", "id": self._id, "head": head}))

    def _answer(self, response: web.Response) -> web.Response:
        self.served += 1
        return response


def injected_error(body: bytes) -> dict[str, object]:
    """The error a request drawn by the spec's ``error_rate`` gets (HTTP and WebSocket)."""
    try:
        rid = request_id(parse(body))
    except RpcError:
        rid = None
    return error_response(rid, INTERNAL_ERROR, INJECTED_ERROR)
