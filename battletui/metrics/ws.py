"""What the WebSocket subscribers measured, summed over all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WsView:
    """The WebSocket panel's numbers. Counts are totals over every subscriber."""

    subscribers: int
    connected: int
    head: int | None
    heads: int
    gaps: int
    missing_blocks: int
    duplicates: int
    reorgs: int
    broken_links: int
    max_stall_ms: float
    current_stall_ms: float
    reconnects: int
    serving: str | None = None
    """The provider the gateway's upstream subscription is on (the gateway's own state)."""
    serving_observed: bool = True
    """False when nothing observes which provider serves the gateway's subscription (an
    external gateway without the reference ``/health``): ``serving`` is then no reading."""
    checked: int = 0
    """Heads judged against the canonical chain (0 when nothing could judge them)."""
    stale: int = 0
    """Heads more than the tolerance behind the canonical head when they arrived."""
    wrong: int = 0
    """Heads that are not (or no longer) canonical: a replaced block, a made-up one."""


class WsMetrics:
    """Per-subscriber figures, updated by the subscribers, read as one ``WsView``."""

    def __init__(self, subscribers: int, clock: Callable[[], float]) -> None:
        self.subscribers = subscribers
        self._clock = clock
        self.connected = 0
        self.reconnects = 0
        self.heads = 0
        self.gaps = 0
        self.missing_blocks = 0
        self.duplicates = 0
        self.reorgs = 0
        self.broken_links = 0
        self.max_stall = 0.0
        self.head: int | None = None
        self._last_head_at: dict[int, float] = {}
        self.checked = 0
        self.stale = 0
        self.wrong = 0

    def head_judged(self, verdict: str) -> None:
        """A head was judged against the canonical chain (``ok``, ``stale``, ``wrong``)."""
        self.checked += 1
        if verdict == "stale":
            self.stale += 1
        elif verdict == "wrong":
            self.wrong += 1

    def connection_opened(self, subscriber: int) -> None:
        self.connected += 1

    def connection_lost(self, subscriber: int, *, reconnecting: bool) -> None:
        self.connected = max(0, self.connected - 1)
        if reconnecting:
            self.reconnects += 1

    def head_received(self, subscriber: int, number: int, *, stall_counts: bool = True) -> None:
        """A new (non-duplicate) head: the stall since this subscriber's previous one counts."""
        now = self._clock()
        previous = self._last_head_at.get(subscriber)
        if previous is not None and stall_counts:
            self.max_stall = max(self.max_stall, now - previous)
        self._last_head_at[subscriber] = now
        self.heads += 1
        self.head = number if self.head is None else max(self.head, number)

    def current_stall(self) -> float:
        """Longest time any subscriber has now been waiting for its next head."""
        if not self._last_head_at:
            return 0.0
        now = self._clock()
        return max(now - at for at in self._last_head_at.values())

    def view(self, serving: str | None = None, *, observed: bool = True) -> WsView:
        return WsView(
            subscribers=self.subscribers,
            connected=self.connected,
            head=self.head,
            heads=self.heads,
            gaps=self.gaps,
            missing_blocks=self.missing_blocks,
            duplicates=self.duplicates,
            reorgs=self.reorgs,
            broken_links=self.broken_links,
            max_stall_ms=self.max_stall * 1000,
            current_stall_ms=self.current_stall() * 1000,
            reconnects=self.reconnects,
            serving=serving,
            serving_observed=observed,
            checked=self.checked,
            stale=self.stale,
            wrong=self.wrong,
        )
