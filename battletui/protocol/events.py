"""What the reference gateway reports to its observers: plain frozen values.

They are made in the gateway process, written to its ``/events`` stream
(:mod:`battletui.protocol.event_format`) and read back by observers in the engine, so both
sides share these definitions without importing each other. Times are on the gateway's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BreakerState",
    "BreakerTransition",
    "FailoverEvent",
    "GatewayEvent",
    "WsFeedEvent",
]


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    """Traffic flows; failures are counted (consecutive and over the sliding window)."""
    OPEN = "OPEN"
    """No traffic until the open time has elapsed."""
    HALF_OPEN = "HALF-OPEN"
    """A limited number of probe requests decide whether to close or open again."""


@dataclass(frozen=True)
class BreakerTransition:
    """One state change, with the clock time it took effect and why.

    A reason for opening says how long the breaker stays open, e.g.
    ``5 consecutive failures (timeout after 1.0s); open 5.0s`` or
    ``probe failed: HTTP 502; open 10.0s (backoff \N{MULTIPLICATION SIGN}2)``.
    """

    provider: str
    old: BreakerState
    new: BreakerState
    at: float
    reason: str


@dataclass(frozen=True)
class FailoverEvent:
    """One client request that needed more than one attempt (or got none answered).

    ``failed`` lists each attempt that did not answer, in order, with its reason
    (``("alpha", "HTTP 503")``, ``("beta", "timeout after 1.0s")``, ``("gamma", "rate-limited
    (HTTP 429; 2.0s left)")``). ``cost`` is the time spent before the attempt that answered
    started, or the whole request when none answered (``served_by`` is None then).
    """

    at: float
    method: str
    """The JSON-RPC method, ``batch`` for a batch, empty when the request names none."""
    failed: tuple[tuple[str, str], ...]
    served_by: str | None
    cost: float


@dataclass(frozen=True)
class GatewayEvent:
    """A change in how the gateway sees its providers.

    ``kind``: ``lagging`` (its head fell more than ``lag_blocks`` behind the best; demoted),
    ``caught-up`` (no longer lagging), ``rate-limited`` (answered HTTP 429; benched until its
    Retry-After has passed, the detail says how long), ``strategy`` (the selection strategy
    changed; ``provider`` is None).
    """

    at: float
    kind: str
    provider: str | None
    detail: str


@dataclass(frozen=True)
class WsFeedEvent:
    """Something the gateway's head feed did, for the event log and the journal.

    ``kind``: ``subscribed`` (first upstream subscription), ``switch`` (moved from one
    upstream to another, or resubscribed on the same one, and why), ``backfill`` (heads fetched
    over HTTP), ``gap`` (numbers that could not be filled), ``stalled`` (no upstream available).
    """

    at: float
    kind: str
    provider: str | None
    detail: str
