"""The lab's fault-control endpoint: a tiny JSON API on 127.0.0.1, behind a bearer token.

* ``GET /state``: the chain (``id``, ``head``, ``block_time``, ``next_block_in``,
  ``reorgs``) and every provider (``id``, ``url``, ``ws_url``, ``port``, ``head``,
  ``faults`` (every ``FaultState`` field plus ``summary``), ``received`` (``requests``,
  ``http``, ``ws``, ``methods``), ``ws_connections``, ``subscriptions``).
* ``GET /chain``: the chain part alone (cheap, for "has the chain moved on?").
* ``POST /providers/{id}/{kind}`` with the action's params as a JSON object: apply a fault
  (kill, restore, flap, degrade, errors, hang, lag, ws-drop); answers ``{"faults",
  "detail"}``, or 400 / 404 / 409 with ``{"error": one line}``.
* ``POST /chain/reorg`` ``{"depth": n}``: answers ``{"replaced": [[number, old hash, new
  hash], ...], "head"}``.
* ``GET /truth`` (WebSocket): the feed a replica of the chain follows (``truth.py``).

Every request needs ``Authorization: Bearer <token>``, else 401: the ports of a chaos tool
are no place for a stranger to press kill.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web

from battletui.chain import MockChain
from battletui.lab.faults import FaultRefused, apply_provider_fault, integer
from battletui.lab.state import chain_json, lab_json
from battletui.lab.truth import TruthFeeds, truth_feed
from battletui.providers import MockProvider

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED: Final = "unauthorized: send Authorization: Bearer <token>"


def _json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status)


def _error(status: int, reason: str) -> web.Response:
    return _json({"error": " ".join(reason.split())}, status)


def control_app(
    chain: MockChain, providers: Mapping[str, MockProvider], token: str, feeds: TruthFeeds
) -> web.Application:
    """The aiohttp application of the endpoint, over the lab's own chain and providers;
    ``feeds`` are its open ``/truth`` feeds, for the lab to end as it stops."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def authorised(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not token or not hmac.compare_digest(given, expected):
            response = _error(401, UNAUTHORIZED)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return await handler(request)

    async def state(request: web.Request) -> web.Response:
        return _json(lab_json(chain, providers.values()))

    async def chain_state(request: web.Request) -> web.Response:
        return _json(chain_json(chain))

    async def fault(request: web.Request) -> web.Response:
        provider = providers.get(request.match_info["id"])
        if provider is None:
            known = ", ".join(providers)
            return _error(404, f"unknown provider {request.match_info['id']!r} (known: {known})")
        try:
            params = await _body(request)
            detail = await apply_provider_fault(provider, chain, request.match_info["kind"], params)
        except FaultRefused as refused:
            return _error(refused.status, refused.reason)
        return _json({"faults": provider.faults.to_json(), "detail": detail})

    async def reorg(request: web.Request) -> web.Response:
        try:
            depth = integer(await _body(request), "depth", 1)
            replaced = chain.reorg(depth)
        except FaultRefused as refused:
            return _error(refused.status, refused.reason)
        except ValueError as error:
            return _error(400, str(error))
        return _json({"replaced": [list(r) for r in replaced], "head": chain.head_number()})

    app = web.Application(middlewares=[authorised])
    app.router.add_get("/state", state)
    app.router.add_get("/chain", chain_state)
    app.router.add_post("/providers/{id}/{kind}", fault)
    app.router.add_post("/chain/reorg", reorg)

    async def truth(request: web.Request) -> web.StreamResponse:
        return await truth_feed(chain, request, feeds)

    app.router.add_get("/truth", truth)
    return app


async def _body(request: web.Request) -> dict[str, object]:
    """The request's JSON object (an empty body is ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise FaultRefused(400, f"the body is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise FaultRefused(400, "the body must be a JSON object of the action's params")
    return value
