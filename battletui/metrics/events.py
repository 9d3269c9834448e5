"""The event log shown on screen: a ring buffer, so an hour-long session stays small.

What a person reads there has to be worth reading: events are kept in the order they
happened (an action is stamped when it was issued, though it is logged once verified, after
what happened meanwhile), and a run of the same kind of event (a provider's health flapping
between UP and SLOW, a failover line every second of an outage) becomes one line that says
how often and since when. The journal keeps every one of them.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from battletui.scenario import clock_tenths

EventLevel = Literal["info", "ok", "warn", "error"]

COLLAPSE_WITHIN: Final = 10.0
"""Seconds within which another event of the same run joins its line (a flap fault changes
every few seconds, a probe near the SLOW threshold every second)."""


@dataclass(frozen=True)
class Event:
    """Something that happened, ``offset`` seconds after the session started."""

    offset: float
    text: str
    level: EventLevel = "info"


@dataclass
class _Run:
    first: float
    count: int
    shown: Event


class EventLog:
    """Keeps the most recent events; older ones live on in the journal only."""

    def __init__(self, capacity: int = 200) -> None:
        self._events: deque[Event] = deque(maxlen=capacity)
        self._runs: dict[str, _Run] = {}

    def add(
        self,
        offset: float,
        text: str,
        level: EventLevel = "info",
        *,
        run: str | None = None,
        unit: str = "changes",
    ) -> Event:
        """Add an event in time order. With ``run`` (e.g. ``health:alpha``), an event that
        follows another of the same run within ``COLLAPSE_WITHIN`` seconds replaces its line
        with ``text · N <unit> since <first>``."""
        event = Event(offset=offset, text=text, level=level)
        if run is not None:
            earlier = self._runs.get(run)
            if earlier is not None and offset - earlier.shown.offset <= COLLAPSE_WITHIN:
                earlier.count += 1
                self._remove(earlier.shown)
                suffix = f" · {earlier.count} {unit} since {clock_tenths(earlier.first)}"
                event = Event(offset=offset, text=text + suffix, level=level)
                earlier.shown = event
            else:
                self._runs[run] = _Run(offset, 1, event)
        self._insert(event)
        return event

    def discard(self, prefix: str, suffix: str, *, after: float) -> None:
        """Drop the lines that start with ``prefix`` and end with ``suffix``, logged at
        ``after`` or later (a second telling of something a line already says)."""
        for event in [
            e
            for e in self._events
            if e.text.startswith(prefix) and e.text.endswith(suffix) and e.offset >= after
        ]:
            self._remove(event)

    def end_run(self, run: str) -> None:
        """The next event of ``run`` starts a line of its own (an action changed the story:
        the health change after a kill is news, not more of the same)."""
        self._runs.pop(run, None)

    def _insert(self, event: Event) -> None:
        if not self._events or self._events[-1].offset <= event.offset:
            self._events.append(event)
            return
        position = bisect.bisect_right([e.offset for e in self._events], event.offset)
        if len(self._events) == self._events.maxlen:
            if position == 0:
                return  # older than everything kept: the journal has it
            self._events.popleft()  # make room: the oldest goes
            position -= 1
        self._events.insert(position, event)

    def _remove(self, event: Event) -> None:
        with contextlib.suppress(ValueError):  # already out of the ring
            self._events.remove(event)

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self._insert(event)

    def recent(self, count: int = 50) -> tuple[Event, ...]:
        if count <= 0:
            return ()
        return tuple(self._events)[-count:]
