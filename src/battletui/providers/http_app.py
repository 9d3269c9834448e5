"""The aiohttp application of one mock provider: JSON-RPC on ``POST /``, ``GET /health``.

The provider adds the WebSocket endpoint (``GET /`` with ``Upgrade: websocket``) to ``app``.

A JSON-RPC request goes: down check, hang, modelled latency (spec plus degrade), body,
per-method latency, hang again, then the spec's baseline ``error_rate`` (HTTP 500), then
the ``errors`` fault (one draw per HTTP request, a batch included; see ``injected``), then
the answer. ``GET /health`` goes through the down check, the hang and the latency only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from battletui.providers.faults import ErrorFault, FaultState
from battletui.providers.gate import Gate
from battletui.providers.injected import (
    RATE_LIMIT_STATUS,
    SERVER_ERROR_STATUS,
    UNPARSEABLE,
    error_object,
    failed_answer,
    retry_after_header,
)
from battletui.providers.jsonrpc import (
    INTERNAL_ERROR,
    RpcError,
    error_response,
    handle_body,
    handle_payload,
    method_names,
    parse,
    request_id,
)
from battletui.providers.methods import EthApi
from battletui.providers.view import ChainView

INJECTED_ERROR: Final = "internal error (injected by battletui)"

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _json(value: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(value, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


class RpcHttpApp:
    """Routes and handlers; counts requests answered and requests still in flight."""

    def __init__(
        self,
        provider_id: str,
        view: ChainView,
        gate: Gate,
        faults: Callable[[], FaultState] = FaultState,
    ) -> None:
        self.served = 0
        self.in_flight = 0
        self._id = provider_id
        self._view = view
        self._gate = gate
        self._faults = faults
        self._api = EthApi(view.chain, provider_id, view=view)
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
        gate = self._gate
        await gate.enter(request.transport)
        body = await request.read()
        gate.meter.hit()
        try:
            payload: object = parse(body)
        except RpcError:
            payload = UNPARSEABLE
        extra = gate.method_delay(method_names(payload)) if payload is not UNPARSEABLE else 0.0
        if extra > 0:
            await asyncio.sleep(extra)
        await gate.hold_if_hung(request.transport)
        if gate.should_fail():
            return self._answer(_json(injected_error(body), status=500))
        fault = gate.draw_error()
        if fault is not None:
            return self._answer(failed_response(payload, fault, gate.meter.rate()))
        if payload is UNPARSEABLE:
            answer = handle_body(body, self._api)
        else:
            answer = handle_payload(payload, self._api)
        if answer is None:  # only notifications: the spec says nothing is returned
            return self._answer(web.Response(status=204))
        return self._answer(_json(answer))

    async def _health(self, request: web.Request) -> web.Response:
        await self._gate.enter(request.transport)
        return self._answer(_json(self.health()))

    def health(self) -> dict[str, object]:
        """The ``GET /health`` body: the provider's head (frozen while lagging), whether it
        lags, and its active faults (``FaultState.summary``)."""
        return {
            "status": "ok",
            "id": self._id,
            "head": self._view.head_number(),
            "lagging": self._view.lagging,
            "faults": self._faults().summary(),
        }

    def _answer(self, response: web.Response) -> web.Response:
        self.served += 1
        return response


def failed_response(payload: object, fault: ErrorFault, current_rps: float) -> web.Response:
    """The HTTP response of a request failed by the ``errors`` fault (see ``injected``)."""
    error = error_object(fault, current_rps)
    answer = failed_answer(payload, error)
    if fault.kind == "rpc-error":
        return web.Response(status=204) if answer is None else _json(answer)
    if answer is None:  # only notifications, yet the status says it failed
        answer = {"jsonrpc": "2.0", "id": None, "error": error}
    if fault.kind == "rate-limit":
        headers = {"Retry-After": retry_after_header(fault.retry_after)}
        return _json(answer, status=RATE_LIMIT_STATUS, headers=headers)
    return _json(answer, status=SERVER_ERROR_STATUS)


def injected_error(body: bytes) -> dict[str, object]:
    """The error a request drawn by the spec's ``error_rate`` gets (HTTP and WebSocket)."""
    try:
        rid = request_id(parse(body))
    except RpcError:
        rid = None
    return error_response(rid, INTERNAL_ERROR, INJECTED_ERROR)
