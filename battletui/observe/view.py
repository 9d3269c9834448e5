"""What the engine knows of the gateway under test, frozen for one snapshot.

Three states of knowledge, kept apart on purpose so the screen never shows a guess:

* a state the gateway said (``CLOSED``, ``OPEN``, ``HALF-OPEN``; a lag in blocks);
* ``UNKNOWN``: something observes it, but has not said yet or stopped answering;
* ``n/a`` (:data:`NOT_OBSERVED`): nothing observes it at all (an external gateway without a
  health URL or metrics, or metrics that say nothing per upstream).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from battletui.metrics import ShareSource

__all__ = [
    "NOT_OBSERVED",
    "N_A",
    "UNKNOWN",
    "UNKNOWN_UPSTREAM",
    "GatewayView",
    "ShareSource",
    "UpstreamView",
]

UNKNOWN: Final = "UNKNOWN"
"""Observed, but the observer has nothing (yet, or any more) to say."""
N_A: Final = "n/a"
"""Not observed: nothing watches this for the gateway under test."""


@dataclass(frozen=True)
class UpstreamView:
    """One upstream as the gateway sees it."""

    breaker: str = UNKNOWN
    """CLOSED, OPEN, HALF-OPEN, UNKNOWN (observed, not said), or n/a (not observed)."""
    breaker_left: float | None = None
    """Seconds an OPEN breaker stays open (None unless OPEN and the gateway says)."""
    rate_limited_for: float | None = None
    """Seconds left of a Retry-After it answered with (0 when none, None when not said)."""
    lag: int | None = None
    """Blocks behind the best head (None when unknown or not observed)."""
    lagging: bool = False

    @property
    def observed(self) -> bool:
        """Something watches this upstream's breaker."""
        return self.breaker != N_A


UNKNOWN_UPSTREAM: Final = UpstreamView()
NOT_OBSERVED: Final = UpstreamView(breaker=N_A)


@dataclass(frozen=True)
class GatewayView:
    """The gateway's state for one live snapshot."""

    reachable: bool = False
    """The observers' last reads were answered."""
    strategy: str | None = None
    """The selection strategy the gateway reports (None when it does not say)."""
    ws_upstream: str | None = None
    """The provider serving the gateway's shared ``newHeads`` subscription."""
    ws_observed: bool = False
    """The gateway says which provider serves its subscription (``ws_upstream`` is then a
    reading; otherwise nobody knows, and the screen says ``n/a``)."""
    upstreams: Mapping[str, UpstreamView] = field(default_factory=lambda: MappingProxyType({}))
    """Provider id -> its view (the lab's ids, mapped from the gateway's upstream names)."""
    observed: bool = True
    """Something observes breakers; when False every upstream not listed is ``n/a``."""
    share_source: ShareSource = "header"

    def upstream(self, provider_id: str) -> UpstreamView:
        default = UNKNOWN_UPSTREAM if self.observed else NOT_OBSERVED
        return self.upstreams.get(provider_id, default)
