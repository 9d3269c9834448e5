"""The JSON messages of the gateway's ``/events`` stream: how each event is written, and read
back into the same values the gateway's callbacks hand out.

Both directions live here so the format has one definition: the gateway encodes, observers in
other processes decode. Every message is one JSON object per WebSocket text message with
``type``, ``seq`` (1, 2, 3, ... per gateway process; ``hello`` repeats the last one sent) and
``at`` (the gateway's clock: ``time.monotonic()`` seconds; on Linux that is CLOCK_MONOTONIC,
one clock for every process on the machine, so an observer turns it into its own offsets
without any translation)::

    {"type": "hello", "seq": 12, "at": 81234.5, "pid": 4242, "since": 10, "missed": 0}
    {"type": "breaker", "seq": 13, "at": 81234.6, "provider": "alpha", "from": "CLOSED",
     "to": "OPEN", "reason": "3 consecutive failures (HTTP 503); open 5.0s", "open_for": 5.0}
    {"type": "failovers", "seq": 14, "at": 81234.7, "omitted": 0, "events": [
        {"at": 81234.61, "method": "eth_blockNumber", "failed": [["alpha", "HTTP 503"]],
         "served_by": "beta", "cost": 0.004}]}
    {"type": "ws_feed", "seq": 15, "at": 81234.8, "kind": "switch", "provider": "beta",
     "detail": "alpha → beta: connection lost"}
    {"type": "gateway", "seq": 16, "at": 81234.9, "kind": "strategy", "provider": null,
     "detail": "fastest → priority"}

``hello`` opens every connection: ``seq`` is the last event sent before this client joined,
``since`` echoes the query (``/events?since=N`` replays the kept events after ``N``), and
``missed`` counts events after ``since`` that are no longer kept. ``breaker`` carries
``open_for`` (seconds) only when ``to`` is ``OPEN``. ``failovers`` coalesces the failovers of
about 100 ms into one message; ``omitted`` counts those beyond the per-message cap (counted,
never itemised). ``ws_feed`` kinds: subscribed, resubscribed, switch, backfill, gap, stalled.
``gateway`` kinds: lagging, caught-up, rate-limited, strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from battletui.protocol.events import (
    BreakerState,
    BreakerTransition,
    FailoverEvent,
    GatewayEvent,
    WsFeedEvent,
)

__all__ = [
    "BREAKER",
    "FAILOVERS",
    "GATEWAY",
    "HELLO",
    "WS_FEED",
    "decode_failovers",
    "decode_gateway",
    "decode_transition",
    "decode_ws_feed",
    "encode_failover",
    "encode_gateway",
    "encode_transition",
    "encode_ws_feed",
]

HELLO: Final = "hello"
BREAKER: Final = "breaker"
FAILOVERS: Final = "failovers"
WS_FEED: Final = "ws_feed"
GATEWAY: Final = "gateway"

_DIGITS: Final = 6
"""Microseconds: plenty for offsets, short on the wire."""


def _t(value: float) -> float:
    return round(value, _DIGITS)


# -- writing (the gateway) -----------------------------------------------------------------------


def encode_transition(transition: BreakerTransition, open_for: float | None) -> dict[str, Any]:
    """The body of a ``breaker`` message (``type``, ``seq`` and ``at`` are added on sending)."""
    body: dict[str, Any] = {
        "provider": transition.provider,
        "from": str(transition.old),
        "to": str(transition.new),
        "reason": transition.reason,
    }
    if open_for is not None:
        body["open_for"] = round(open_for, 3)
    return body


def encode_failover(event: FailoverEvent) -> dict[str, Any]:
    """One item of a ``failovers`` message's ``events``."""
    return {
        "at": _t(event.at),
        "method": event.method,
        "failed": [[provider, reason] for provider, reason in event.failed],
        "served_by": event.served_by,
        "cost": _t(event.cost),
    }


def encode_ws_feed(event: WsFeedEvent) -> dict[str, Any]:
    return {"kind": event.kind, "provider": event.provider, "detail": event.detail}


def encode_gateway(event: GatewayEvent) -> dict[str, Any]:
    return {"kind": event.kind, "provider": event.provider, "detail": event.detail}


# -- reading (observers) -------------------------------------------------------------------------
# Each raises ValueError on a message that does not have the documented shape.


def _field(message: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = message.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"{message.get('type')} message: bad {name!r}: {value!r}")
    return value


def _number(message: Mapping[str, Any], name: str) -> float:
    return float(_field(message, name, (int, float)))


def _optional_text(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{message.get('type')} message: bad {name!r}: {value!r}")
    return value


def decode_transition(message: Mapping[str, Any]) -> BreakerTransition:
    try:
        old = BreakerState(_field(message, "from", str))
        new = BreakerState(_field(message, "to", str))
    except ValueError as error:
        raise ValueError(f"breaker message: {error}") from None
    return BreakerTransition(
        provider=_field(message, "provider", str),
        old=old,
        new=new,
        at=_number(message, "at"),
        reason=_field(message, "reason", str),
    )


def decode_failovers(message: Mapping[str, Any]) -> list[FailoverEvent]:
    events: list[FailoverEvent] = []
    for item in _field(message, "events", list):
        if not isinstance(item, dict):
            raise ValueError(f"failovers message: bad item {item!r}")
        failed: list[tuple[str, str]] = []
        for pair in _field(item, "failed", list):
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(part, str) for part in pair)
            ):
                raise ValueError(f"failovers message: bad failed attempt {pair!r}")
            failed.append((pair[0], pair[1]))
        events.append(
            FailoverEvent(
                at=_number(item, "at"),
                method=_field(item, "method", str),
                failed=tuple(failed),
                served_by=_optional_text(item, "served_by"),
                cost=_number(item, "cost"),
            )
        )
    return events


def decode_ws_feed(message: Mapping[str, Any]) -> WsFeedEvent:
    return WsFeedEvent(
        at=_number(message, "at"),
        kind=_field(message, "kind", str),
        provider=_optional_text(message, "provider"),
        detail=_field(message, "detail", str),
    )


def decode_gateway(message: Mapping[str, Any]) -> GatewayEvent:
    return GatewayEvent(
        at=_number(message, "at"),
        kind=_field(message, "kind", str),
        provider=_optional_text(message, "provider"),
        detail=_field(message, "detail", str),
    )
