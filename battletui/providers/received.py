"""What a provider received: JSON-RPC requests per method, HTTP and WebSocket apart.

Counted where a request arrives, before any fault decides its fate (an injected error or a
hang does not make a request any less received; a connection refused by a killed port never
arrives). This is the traffic share that holds for any gateway under test, whatever it says
about itself. On the hot path: one dict update per request (per member of a batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from battletui.providers.injected import UNPARSEABLE

INVALID: Final = "(invalid)"
"""The method name counted for a body that is not JSON, an empty batch, or a member without
a string ``method``: it was received all the same."""


def _count(table: dict[str, int], payload: object) -> None:
    if isinstance(payload, dict):
        method = payload.get("method")
        name = method if isinstance(method, str) else INVALID
        table[name] = table.get(name, 0) + 1
        return
    if isinstance(payload, list) and payload:
        for member in payload:
            method = member.get("method") if isinstance(member, dict) else None
            name = method if isinstance(method, str) else INVALID
            table[name] = table.get(name, 0) + 1
        return
    table[INVALID] = table.get(INVALID, 0) + 1  # not JSON, empty batch, or a bare value


class ReceivedCounter:
    """Per-method counts of the JSON-RPC requests that reached a provider."""

    __slots__ = ("_http", "_ws")

    def __init__(self) -> None:
        self._http: dict[str, int] = {}
        self._ws: dict[str, int] = {}

    def http(self, payload: object) -> None:
        """Count a decoded HTTP body (``UNPARSEABLE`` counts as one invalid request)."""
        _count(self._http, None if payload is UNPARSEABLE else payload)

    def ws(self, payload: object) -> None:
        """Count a decoded WebSocket frame (``UNPARSEABLE`` counts as one invalid request)."""
        _count(self._ws, None if payload is UNPARSEABLE else payload)

    def methods(self) -> dict[str, int]:
        """Both transports together, per method."""
        merged = dict(self._http)
        for name, count in self._ws.items():
            merged[name] = merged.get(name, 0) + count
        return merged

    def by_transport(self) -> Mapping[str, int]:
        """Total requests per transport: ``{"http": n, "ws": n}``."""
        return {"http": sum(self._http.values()), "ws": sum(self._ws.values())}
