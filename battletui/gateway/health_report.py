"""The body of the gateway's ``GET /health``: everything a viewer shows about the gateway.

This is the documented "JSON health URL" format: the engine reads the reference gateway only
through it (and ``/events``), and an external gateway that serves the same shape can be
observed the same way. One JSON object::

    {
      "status": "ok",                  # ok: some breaker CLOSED; degraded: none CLOSED but
                                       #   some HALF-OPEN; down: all OPEN
      "at": 81234.567891,              # the gateway's clock (time.monotonic, seconds)
      "pid": 4242,                     # the gateway's process
      "strategy": "fastest",           # fastest | priority | round-robin | latency-weighted
      "upstreams": {                   # in configuration order
        "alpha": {
          "breaker": "OPEN",           # CLOSED | OPEN | HALF-OPEN
          "open_remaining": 4.2,       # seconds the breaker stays OPEN (0 unless OPEN)
          "tier": "open",              # healthy | lagging | half-open | rate-limited | open
          "served": 1234,              # client requests it answered
          "failures": 7,               # failed attempts held against its breaker
          "latency_ewma_ms": 20.4,     # smoothed latency of answered attempts, or null
          "rate_limited_for": 0.0,     # seconds left of a Retry-After it answered with
          "head": 1041,                # its latest block number as last seen, or null
          "lag": 0,                    # blocks behind the best usable head, or null (unknown)
          "lagging": false             # more than lag_blocks behind: demoted
        }
      },
      "websocket": {"upstream": "beta", "clients": 4, "subscriptions": 4},
      "events": {"seq": 17, "clients": 1, "dropped_clients": 0}
    }

``tier`` is the health tier selection puts the upstream in (see
:mod:`battletui.gateway.selection`). ``websocket.upstream`` is the provider serving the shared
``newHeads`` subscription (null when none is). ``events`` describes the ``/events`` stream:
the last sequence number sent, connected clients, and clients cut off for reading too slowly.
"""

from __future__ import annotations

import os
from typing import Any

from battletui.gateway.pool import UpstreamPool
from battletui.protocol.events import BreakerState

__all__ = ["health_report", "tier_of"]


def tier_of(state: BreakerState, rate_limited_for: float, lagging: bool) -> str:
    """The health tier selection treats an upstream in, as a word."""
    if state is BreakerState.OPEN:
        return "open"
    if rate_limited_for > 0:
        return "rate-limited"
    if state is BreakerState.HALF_OPEN:
        return "half-open"
    return "lagging" if lagging else "healthy"


def health_report(
    pool: UpstreamPool, strategy: str | None = None, *, at: float | None = None
) -> dict[str, Any]:
    """The ``status``, ``at``, ``pid``, ``strategy`` and ``upstreams`` parts of the body; the
    caller adds ``websocket`` and ``events``, which the pool does not know."""
    stats = pool.stats()
    upstreams: dict[str, Any] = {}
    states: set[BreakerState] = set()
    for uid, breaker in pool.breakers.items():
        state = breaker.state
        states.add(state)
        s = stats[uid]
        upstreams[uid] = {
            "breaker": str(state),
            "open_remaining": round(breaker.open_remaining, 3),
            "tier": tier_of(state, s.rate_limited_for, s.lagging),
            "served": s.served,
            "failures": s.failures,
            "latency_ewma_ms": None if s.latency_ewma_ms is None else round(s.latency_ewma_ms, 3),
            "rate_limited_for": round(s.rate_limited_for, 3),
            "head": s.head,
            "lag": s.lag,
            "lagging": s.lagging,
        }
    if BreakerState.CLOSED in states:
        status = "ok"
    elif BreakerState.HALF_OPEN in states:
        status = "degraded"
    else:
        status = "down"
    report: dict[str, Any] = {"status": status}
    if at is not None:
        report["at"] = round(at, 6)
    report["pid"] = os.getpid()
    if strategy is not None:
        report["strategy"] = strategy
    report["upstreams"] = upstreams
    return report
