"""The gateway's admin endpoints, on its own port next to JSON-RPC (``POST /``, WS ``/``).

* ``GET /health`` — breakers, health tiers, lag, rate limits, the strategy and the WebSocket
  feed's upstream, as JSON (format: :mod:`battletui.gateway.health_report`);
* ``GET /events`` — a WebSocket stream of the gateway's own events as JSON, one per message
  (format: :mod:`battletui.protocol.event_format`; fan-out: :mod:`~.event_stream`);
* ``POST /admin/strategy`` with ``{"name": "priority"}`` — switch the selection strategy;
  200 with ``{"strategy": ...}`` (what ``/health`` reports from now on), or 400 with one line
  of text for an unknown name or a malformed body.

This is how anyone outside the gateway's process learns its state: the engine reads it here
and nowhere else. There is no token: the reference gateway is a system under test listening
on 127.0.0.1 only, like a production gateway's admin port, which is reachable only from the
host; whoever can reach it can already send it traffic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from battletui.gateway.event_stream import EventStream

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "STRATEGY_PATH", "add_admin_routes"]

HEALTH_PATH: Final = "/health"
EVENTS_PATH: Final = "/events"
STRATEGY_PATH: Final = "/admin/strategy"
_MAX_BODY: Final = 4096


def add_admin_routes(
    app: web.Application,
    *,
    health: Callable[[], Mapping[str, Any]],
    strategy: Callable[[], str],
    set_strategy: Callable[[str], None],
    events: EventStream,
) -> None:
    """Serve the admin endpoints on ``app``. ``set_strategy`` raises ValueError (one line)
    for an unknown name."""

    async def handle_health(request: web.Request) -> web.Response:
        return web.json_response(health())

    async def handle_strategy(request: web.Request) -> web.Response:
        body = await request.content.read(_MAX_BODY + 1)
        try:
            if len(body) > _MAX_BODY:
                raise ValueError
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        name = parsed.get("name") if isinstance(parsed, dict) else None
        if not isinstance(name, str):
            return _one_line(400, 'expected a JSON body {"name": STRATEGY}')
        try:
            set_strategy(name)
        except ValueError as error:
            return _one_line(400, str(error))
        return web.json_response({"strategy": strategy()})

    app.router.add_get(HEALTH_PATH, handle_health)
    app.router.add_get(EVENTS_PATH, events.handle)
    app.router.add_post(STRATEGY_PATH, handle_strategy)


def _one_line(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=" ".join(text.split()) + "\n")
