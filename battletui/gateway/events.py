"""What the gateway tells its observers: plain values handed to plain callbacks.

Breaker transitions have their own type (:class:`~battletui.gateway.BreakerTransition`), the
WebSocket feed its own (:class:`~battletui.gateway.WsFeedEvent`); these two cover failovers and
the health of the pool. Times are on the gateway's ``clock``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["FailoverEvent", "GatewayEvent", "also", "notify"]

_log = logging.getLogger(__name__)


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


_E = TypeVar("_E")


def notify(listener: Callable[[_E], None] | None, event: _E) -> None:
    """Hand ``event`` to ``listener``; a broken listener never disturbs routing."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:
        _log.exception("gateway event listener failed")


def also(first: Callable[[_E], None], second: Callable[[_E], None] | None) -> Callable[[_E], None]:
    """One listener that hands each event to ``first``, then to ``second`` (if any); neither
    can keep the event from the other."""
    if second is None:
        return first

    def both(event: _E) -> None:
        notify(first, event)
        notify(second, event)

    return both
