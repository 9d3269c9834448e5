"""The aiohttp application of one mock provider: JSON-RPC on ``POST /``, ``GET /health``.

The provider adds the WebSocket endpoint (``GET /`` with ``Upgrade: websocket``) to ``app``.

A JSON-RPC request goes: body (counted as received unless the provider is down; see
``received``), down check, hang, modelled latency (spec plus degrade), per-method latency,
hang again, then the spec's baseline ``error_rate`` (HTTP 500), then the ``errors`` fault
(one draw per HTTP request, a batch included; see ``injected``), then the answer. A request
failed by ``error_rate`` gets -32603 "internal error (injected by battletui)" in place of
each answer it would have had (one per answered batch member, with its id), or one object
with a null id when it would have had none. ``GET /health`` goes through the down check,
the hang and the latency only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from battletui.protocol.faults import FaultState
from battletui.providers.gate import Gate
from battletui.providers.injected import (
    RATE_LIMIT_STATUS,
    SERVER_ERROR_STATUS,
    UNPARSEABLE,
    ErrorFault,
    baseline_error,
    error_object,
    failed_answer,
    retry_after_header,
)
from battletui.providers.jsonrpc import (
    RpcError,
    handle_payload,
    method_names,
    parse,
    parse_error_response,
)
from battletui.providers.methods import EthApi
from battletui.providers.received import ReceivedCounter
from battletui.providers.view import ChainView

BASELINE_ERROR_STATUS: Final = 500

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
        api: EthApi,
        faults: Callable[[], FaultState] = FaultState,
        received: ReceivedCounter | None = None,
    ) -> None:
        self.served = 0
        self.in_flight = 0
        self.received = received if received is not None else ReceivedCounter()
        self._id = provider_id
        self._view = view
        self._gate = gate
        self._faults = faults
        self._api = api
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
        body = await request.read()
        try:
            payload: object = parse(body)
        except RpcError:
            payload = UNPARSEABLE
        if not gate.down:  # a request that raced a kill is reset below, never received
            self.received.http(payload)
        await gate.enter(request.transport)
        gate.meter.hit()
        extra = gate.method_delay(method_names(payload)) if payload is not UNPARSEABLE else 0.0
        if extra > 0:
            await asyncio.sleep(extra)
        await gate.hold_if_hung(request.transport)
        if gate.should_fail():
            return self._answer(_failed_json(payload, baseline_error(), BASELINE_ERROR_STATUS))
        fault = gate.draw_error()
        if fault is not None:
            return self._answer(failed_response(payload, fault, gate.meter.rate()))
        if payload is UNPARSEABLE:
            answer: object | None = parse_error_response()
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
    if fault.kind == "rpc-error":
        answer = failed_answer(payload, error)
        return web.Response(status=204) if answer is None else _json(answer)
    if fault.kind == "rate-limit":
        headers = {"Retry-After": retry_after_header(fault.retry_after)}
        return _failed_json(payload, error, RATE_LIMIT_STATUS, headers)
    return _failed_json(payload, error, SERVER_ERROR_STATUS)


def _failed_json(
    payload: object,
    error: dict[str, object],
    status: int,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """``payload`` failed with ``error`` under an HTTP error ``status``: one error object per
    answer it would have had (see ``failed_answer``), or, when it would have had none (only
    notifications), one with a null id since the status says it failed."""
    answer = failed_answer(payload, error)
    if answer is None:
        answer = {"jsonrpc": "2.0", "id": None, "error": error}
    return _json(answer, status=status, headers=headers)
